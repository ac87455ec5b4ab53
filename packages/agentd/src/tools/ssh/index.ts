import type { BlobStore } from "../../blobs/types.ts";
import type { SshService } from "../../ssh/service.ts";
import type { Tool } from "../types.ts";
import { sshCommandTool } from "./command.ts";
import { sshFileTool } from "./files.ts";
import { sshHostAddTool, sshHostConfirmTool, sshHostsTool } from "./hosts.ts";

export { commandSubject } from "./command.ts";

/** The SSH tools: commands, files (SFTP) and hosts (added by the agent, pinned by a person). */
export function sshTools(ssh: SshService, blobs: BlobStore, maxBytes: number): Tool[] {
  return [
    sshCommandTool(ssh),
    sshFileTool(ssh, blobs, maxBytes),
    sshHostsTool(ssh),
    sshHostAddTool(ssh),
    sshHostConfirmTool(ssh),
  ] as Tool[];
}
