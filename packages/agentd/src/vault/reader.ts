/**
 * A tenant's vault as a tool reads it at call time (`Vault.reader(scope)`): values go to the outside
 * world only (a header, a login), never back to the model, the journal or a log.
 */
export interface SecretReader {
  get(name: string): Promise<string | null>;
}
