// `cairn user register|login|logout|me|list`: accounts and the saved session.
// login writes the token to the user's config dir (0600); every platform
// command then sends it. Passwords come from stdin, CAIRN_PASSWORD or a
// hidden prompt, never from arguments.
import type { Command } from "commander";
import { parseRole, roleNames } from "../client/convert.js";
import type { User } from "../client/types.js";
import { fieldTable, output, withClient } from "./context.js";
import { collect, formatTime, parseInteger } from "./parse.js";
import { readPassword } from "./password.js";
import { formatTable } from "./table.js";
import { clearToken, tokenPath, writeToken } from "./token-file.js";

const USER_HEADERS = ["USERNAME", "ROLES", "EMAIL", "PHONE", "VERSION", "CREATED"];

function userRow(user: User): string[] {
  return [
    user.username,
    user.roles.join(","),
    user.email,
    user.phone || "-",
    String(user.version),
    formatTime(user.createdAtMs),
  ];
}

function userFields(user: User): [string, string][] {
  return [
    ["username", user.username],
    ["roles", user.roles.join(",")],
    ["email", user.email],
    ["phone", user.phone || "-"],
    ["created", formatTime(user.createdAtMs)],
    ["updated", formatTime(user.updatedAtMs)],
    ["version", String(user.version)],
  ];
}

interface RegisterFlags {
  readonly email: string;
  readonly phone?: string;
  readonly role: string[];
  readonly passwordStdin?: boolean;
}

interface LoginFlags {
  readonly passwordStdin?: boolean;
  readonly ttl?: string;
}

function registerRegister(user: Command, program: Command): void {
  user
    .command("register <username>")
    .description("create an account (the first one ever becomes admin)")
    .requiredOption("--email <address>", "e-mail address")
    .option("--phone <e164>", 'phone number like "+14155550100"')
    .option(
      "--role <role>",
      `${roleNames.join("|")}, repeatable; roles above viewer need an admin login`,
      collect,
      [],
    )
    .option("--password-stdin", "read the password from stdin")
    .action(async (username: string, flags: RegisterFlags) => {
      const roles = flags.role.map(parseRole);
      const password = await readPassword(flags);
      // Only an admin may grant roles, so only then is the saved session sent.
      await withClient(program, roles.length > 0 ? "required" : "none", async (client, options) => {
        const created = await client.users.register({
          username,
          password,
          email: flags.email,
          ...(flags.phone === undefined ? {} : { phone: flags.phone }),
          roles,
        });
        output(
          options,
          created,
          () => `registered ${created.username} (${created.roles.join(",")})`,
        );
      });
    });
}

function registerLogin(user: Command, program: Command): void {
  user
    .command("login <username>")
    .description("start a session and save its token for later commands")
    .option("--password-stdin", "read the password from stdin")
    .option("--ttl <ms>", "session lifetime in ms (default 24 h)")
    .action(async (username: string, flags: LoginFlags) => {
      const password = await readPassword(flags);
      await withClient(program, "none", async (client, options) => {
        const ttlMs =
          flags.ttl === undefined ? 0 : parseInteger("--ttl", flags.ttl, 60_000, 30 * 86_400_000);
        const login = await client.users.login(username, password, { ttlMs });
        const path = writeToken(login.token, process.env);
        output(
          options,
          { user: login.user, expiresAtMs: login.expiresAtMs, tokenFile: path },
          () =>
            `logged in as ${login.user.username} (${login.user.roles.join(",")}) until ${formatTime(login.expiresAtMs)}`,
        );
      });
    });
}

function registerSessionCommands(user: Command, program: Command): void {
  user
    .command("logout")
    .description("end the session and forget the saved token")
    .action(() =>
      withClient(program, "required", async (client, options) => {
        try {
          await client.users.logout();
        } finally {
          // Forget the token even if the server already had (expired, revoked).
          clearToken(process.env);
        }
        output(options, { loggedOut: true, tokenFile: tokenPath(process.env) }, () => "logged out");
      }),
    );
  user
    .command("me")
    .description("the logged-in user")
    .action(() =>
      withClient(program, "required", async (client, options) => {
        const me = await client.users.me();
        output(options, me, () => fieldTable(userFields(me)));
      }),
    );
  user
    .command("list")
    .description("every user (admins only)")
    .option("--page-size <n>", "users per request", "100")
    .action((flags: { pageSize: string }) =>
      withClient(program, "required", async (client, options) => {
        const pageSize = parseInteger("--page-size", flags.pageSize, 1, 500);
        const users = await client.users.list({ pageSize }).all();
        output(options, users, () => formatTable(USER_HEADERS, users.map(userRow)));
      }),
    );
}

export function registerUserCommands(program: Command): void {
  const user = program.command("user").description("accounts and sessions");
  registerRegister(user, program);
  registerLogin(user, program);
  registerSessionCommands(user, program);
}
