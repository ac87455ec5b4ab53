import type ssh2 from "ssh2";
import { AgentdError } from "../errors.ts";

function sftpOf(client: ssh2.Client): Promise<ssh2.SFTPWrapper> {
  return new Promise((resolve, reject) =>
    client.sftp((err, sftp) =>
      err ? reject(new AgentdError("ssh_failed", `SFTP is not available: ${err.message}`)) : resolve(sftp),
    ),
  );
}

/** Reads a remote file whole, refusing one over `maxBytes` before and while reading. */
export async function sftpGet(
  client: ssh2.Client,
  path: string,
  maxBytes: number,
  signal?: AbortSignal,
): Promise<Uint8Array> {
  const sftp = await sftpOf(client);
  try {
    const size = await new Promise<number>((resolve, reject) =>
      sftp.stat(path, (err, st) =>
        err ? reject(new AgentdError("not_found", `${path}: ${err.message}`)) : resolve(st.size),
      ),
    );
    if (size > maxBytes)
      throw new AgentdError(
        "media_too_large",
        `${path} is ${size} bytes, over the limit of ${maxBytes} (AGENTD_MAX_MEDIA_BYTES)`,
      );
    const parts: Buffer[] = [];
    let total = 0;
    await new Promise<void>((resolve, reject) => {
      const s = sftp.createReadStream(path);
      const stop = () => s.destroy(new Error("stopped"));
      signal?.addEventListener("abort", stop, { once: true });
      s.on("data", (b: Buffer) => {
        total += b.length;
        if (total > maxBytes)
          s.destroy(new AgentdError("media_too_large", `${path} grew past ${maxBytes} bytes while read`));
        else parts.push(b);
      });
      s.once("error", reject);
      s.once("end", resolve);
      s.once("close", () => signal?.removeEventListener("abort", stop));
    });
    return Buffer.concat(parts);
  } finally {
    sftp.end();
  }
}

/** Writes a remote file (replacing it). */
export async function sftpPut(
  client: ssh2.Client,
  path: string,
  data: Uint8Array,
  signal?: AbortSignal,
): Promise<void> {
  const sftp = await sftpOf(client);
  try {
    await new Promise<void>((resolve, reject) => {
      const s = sftp.createWriteStream(path);
      const stop = () => s.destroy();
      signal?.addEventListener("abort", stop, { once: true });
      s.once("error", (e: Error) => reject(new AgentdError("ssh_failed", `${path}: ${e.message}`)));
      s.once("close", () => {
        signal?.removeEventListener("abort", stop);
        resolve();
      });
      s.write(Buffer.from(data));
      s.end();
    });
  } finally {
    sftp.end();
  }
}
