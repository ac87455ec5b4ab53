import assert from "node:assert/strict";
import { test } from "node:test";
import { allowedHostnames } from "../../src/mcp-server/hosts.ts";

const config = (host: string, publicUrl?: string) => ({
  host,
  connections: { apps: [], linkTtl: "1h", ...(publicUrl ? { publicUrl } : {}) },
  channels: { telegram: {}, incomplete: [] } as never,
});

test("the names /mcp answers to: loopback, the address listened on unless a wildcard, and AGENTD_PUBLIC_URL's host", () => {
  assert.deepEqual(allowedHostnames(config("127.0.0.1")), ["localhost", "127.0.0.1", "[::1]"]);
  assert.deepEqual(allowedHostnames(config("0.0.0.0")), ["localhost", "127.0.0.1", "[::1]"], "a wildcard is no name");
  assert.deepEqual(allowedHostnames(config("::")), ["localhost", "127.0.0.1", "[::1]"]);
  assert.deepEqual(allowedHostnames(config("10.1.2.3")), ["localhost", "127.0.0.1", "[::1]", "10.1.2.3"]);
  assert.deepEqual(allowedHostnames(config("fd00::5")), ["localhost", "127.0.0.1", "[::1]", "[fd00::5]"]);
  assert.deepEqual(allowedHostnames(config("0.0.0.0", "https://Agents.Example.com:8443/base")), [
    "localhost",
    "127.0.0.1",
    "[::1]",
    "agents.example.com",
  ]);
});
