// oidc-provider ships no types: the little of it the tests use, typed loosely but not `any`.
declare module "oidc-provider" {
  import type { IncomingMessage, ServerResponse } from "node:http";

  interface Token {
    accountId: string;
    grantId?: string;
    aud?: string | string[];
    scope?: string;
    isExpired: boolean;
    destroy(): Promise<void>;
  }
  interface Grant {
    accountId: string;
    destroy(): Promise<void>;
  }
  interface Model<T> {
    find(id: string): Promise<T | undefined>;
  }
  class Provider {
    constructor(issuer: string, configuration: Record<string, unknown>);
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
    on(event: string, listener: (...args: never[]) => void): this;
    AccessToken: Model<Token>;
    RefreshToken: Model<Token>;
    Grant: Model<Grant>;
  }
  export const errors: { InvalidTarget: new (description?: string) => Error };
  export default Provider;
}
