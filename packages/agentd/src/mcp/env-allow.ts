/**
 * The environment a stdio MCP server is started with: deny by default. It inherits nothing from
 * agentd's own environment (which holds the master key, the database URL, the model's key); it gets
 * a fixed base (`BASE_ENV`) and the variables its definition names, each of which must be an
 * upper-case name outside the families that change how a program is loaded or where it connects:
 * the dynamic loader (`LD_PRELOAD`), an interpreter's start-up (`NODE_OPTIONS`, `PYTHONPATH`,
 * `PERL5OPT`, `BASH_ENV`), the search path and home the sandbox sets, and proxies (egress goes
 * through the guarded proxy only). A refused name is an error that says which rule refused it.
 */

/** A name a definition may set: upper case, digits and "_", a letter first. Lower-case `http_proxy` and friends never pass. */
export const ENV_NAME = /^[A-Z][A-Z0-9_]{0,63}$/;

/** Names refused outright: each changes what runs, not what the server is told. */
const REFUSED = new Set([
  "PATH",
  "HOME",
  "USER",
  "SHELL",
  "TMPDIR",
  "IFS",
  "ENV",
  "BASH_ENV",
  "PROMPT_COMMAND",
  "CDPATH",
  "GCONV_PATH",
  "LOCPATH",
  "NLSPATH",
  "HOSTALIASES",
  "RESOLV_HOST_CONF",
  "MALLOC_CHECK_",
  "JAVA_TOOL_OPTIONS",
  "JDK_JAVA_OPTIONS",
  "_JAVA_OPTIONS",
  "CLASSPATH",
  "RUBYOPT",
  "RUBYLIB",
  "PERL5OPT",
  "PERL5LIB",
  "PERLLIB",
  "LUA_PATH",
  "LUA_CPATH",
  "GEM_PATH",
  "GEM_HOME",
  "BUNDLE_GEMFILE",
  "DENO_DIR",
  "BUN_INSTALL",
  "UV_INDEX_URL",
  "PIP_INDEX_URL",
  "PIP_EXTRA_INDEX_URL",
  "NO_PROXY",
  "ALL_PROXY",
  "HTTP_PROXY",
  "HTTPS_PROXY",
  "FTP_PROXY",
  "SSL_CERT_FILE",
  "SSL_CERT_DIR",
  "CURL_CA_BUNDLE",
  "REQUESTS_CA_BUNDLE",
  "GIT_SSH",
  "GIT_SSH_COMMAND",
  "GIT_EXEC_PATH",
  "GIT_CONFIG_GLOBAL",
  "EDITOR",
  "VISUAL",
  "PAGER",
  "BROWSER",
]);

/** Families refused by prefix: the loader's, the interpreters' and tools' configuration by environment. */
const REFUSED_PREFIXES = [
  "LD_", // LD_PRELOAD, LD_LIBRARY_PATH, LD_AUDIT
  "DYLD_",
  "NODE_", // NODE_OPTIONS, NODE_PATH, NODE_EXTRA_CA_CERTS, NODE_TLS_REJECT_UNAUTHORIZED
  "NPM_CONFIG_",
  "PYTHON", // PYTHONPATH, PYTHONSTARTUP, PYTHONHOME, PYTHONINSPECT
  "VIRTUAL_ENV",
  "CONDA_",
  "GLIBC_",
  "MALLOC_",
  "GCONV_",
  "GIT_CONFIG",
  "AGENTD_", // agentd's own settings never reach a server
  "BASH_FUNC_",
];

/** What every stdio server gets: a fixed, harmless base (the sandbox sets PATH and HOME to its own). */
export const BASE_ENV: Readonly<Record<string, string>> = {
  PATH: "/usr/local/bin:/usr/bin:/bin",
  LANG: "C.UTF-8",
  TZ: "UTC",
};

/** Why a name may not be set, or null when it may. */
export function refusedEnvName(name: string): string | null {
  if (!ENV_NAME.test(name))
    return `${JSON.stringify(name.slice(0, 70))} is not an accepted variable name: use 1-64 upper-case letters, digits and "_", a letter first`;
  if (REFUSED.has(name))
    return `${name} may not be set: it changes what runs or where it connects, not what the server is told`;
  const prefix = REFUSED_PREFIXES.find((p) => name.startsWith(p));
  if (prefix)
    return `${name} may not be set: variables starting with ${prefix} change how programs are loaded or configured`;
  return null;
}

/** The whole environment of a server: the base and the definition's own values (names already checked). */
export function serverEnv(own: Readonly<Record<string, string>>): Record<string, string> {
  for (const name of Object.keys(own)) {
    const why = refusedEnvName(name);
    if (why) throw new Error(why);
  }
  return { ...BASE_ENV, ...own };
}
