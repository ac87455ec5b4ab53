import { type CommandInput, noMoreThan, parseCommand, requiredTenant } from "./args.ts";
import { UsageError } from "./errors.ts";
import { withApi } from "./local-api.ts";
import { JSON_OPTION, printedJson } from "./output.ts";

/**
 * `agentd web [show] | forget [<profile>]`, each with `--tenant <id>`: what the tenant's web tools
 * work with (the search provider its searches go to, the browser profile kept between steps: sites,
 * never cookies) and forgetting that profile.
 */
export async function web(input: CommandInput): Promise<number> {
  const p = parseCommand(input, { tenant: { type: "string" }, ...JSON_OPTION }, 2);
  const sub = p.positionals[0] ?? "show";
  const tenant = requiredTenant(p, `web ${sub}`);
  const out = (s: string) => process.stdout.write(s);
  return withApi(input, p, tenant, async (client) => {
    const v1 = client.api.v1;
    switch (sub) {
      case "show": {
        noMoreThan(p, 1, "web show");
        const search = await (await v1.search.providers.$get()).json();
        const browser = await (await v1.browser.profiles.$get()).json();
        if (printedJson(p, { search, browser })) return 0;
        const provider = search.providers[0];
        out(
          provider
            ? `search: ${provider.name}, ${provider.detail}\n`
            : "search: none (the operator sets AGENTD_SEARCH_PROVIDER, or the tenant its searchProvider setting and key)\n",
        );
        if (browser.profiles.length === 0)
          out(browser.enabled ? "browser: no profile kept (signed in nowhere)\n" : "browser: off on this deployment\n");
        for (const b of browser.profiles)
          out(
            `browser profile ${b.name}: signed in to ${b.sites.length ? b.sites.join(", ") : "no site"} (${b.cookies} cookies); pages ${b.pages.length ? b.pages.join(", ") : "none"}\n`,
          );
        return 0;
      }
      case "forget": {
        noMoreThan(p, 2, "web forget");
        const name = p.positionals[1] ?? "default";
        await v1.browser.profiles[":name"].$delete({ param: { name: encodeURIComponent(name) } });
        out(`forgot browser profile ${name} of tenant ${tenant}: its sites are signed out\n`);
        return 0;
      }
      default:
        throw new UsageError(`agentd web: unknown subcommand "${sub}" (show or forget)`);
    }
  });
}
