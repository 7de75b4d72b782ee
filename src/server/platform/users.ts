// cairn.v1.Users: accounts, roles and bearer-token sessions. Passwords are
// checked, then scrypt-hashed here with a fresh salt before anything is
// proposed; Login verifies against the replicated hash, draws a random token
// and proposes only its digest. Tokens and passwords are never logged.
import { randomBytes } from "node:crypto";
import type { Server } from "@grpc/grpc-js";
import { cairn } from "../../gen/cairn.js";
import {
  SESSION_TTL_MS,
  tokenDigest,
  validateContact,
  validatePassword,
  validateUsername,
} from "../../state/index.js";
import { addTypedService, unaryMethod } from "../../transport/grpc-codec.js";
import { CairnError } from "../errors.js";
import { requireGrant } from "./auth.js";
import { currentHeader, header, type PlatformDeps } from "./deps.js";
import { authedUnary, type CallContext, type OpenCallContext, openUnary } from "./platform-call.js";
import { pageSize, rolesFromProto, userToProto } from "./platform-codec.js";
import { expectResult, invalid, orThrow } from "./platform-errors.js";

export const USERS_SERVICE = {
  Register: unaryMethod(
    "/cairn.v1.Users/Register",
    cairn.v1.RegisterRequest,
    cairn.v1.UserResponse,
  ),
  Login: unaryMethod("/cairn.v1.Users/Login", cairn.v1.LoginRequest, cairn.v1.LoginResponse),
  Logout: unaryMethod("/cairn.v1.Users/Logout", cairn.v1.LogoutRequest, cairn.v1.LogoutResponse),
  Me: unaryMethod("/cairn.v1.Users/Me", cairn.v1.MeRequest, cairn.v1.UserResponse),
  Get: unaryMethod("/cairn.v1.Users/Get", cairn.v1.GetUserRequest, cairn.v1.UserResponse),
  List: unaryMethod("/cairn.v1.Users/List", cairn.v1.ListUsersRequest, cairn.v1.ListUsersResponse),
  Update: unaryMethod("/cairn.v1.Users/Update", cairn.v1.UpdateUserRequest, cairn.v1.UserResponse),
  Delete: unaryMethod(
    "/cairn.v1.Users/Delete",
    cairn.v1.DeleteUserRequest,
    cairn.v1.DeleteUserResponse,
  ),
};

/** Login's ttl_ms 0. */
export const SESSION_TTL_DEFAULT_MS = 24 * 3_600_000;
/** Random bytes per bearer token (43 base64url characters). */
export const TOKEN_BYTES = 32;

export const WRONG_CREDENTIALS = "wrong username or password";

type UserResponse = cairn.v1.UserResponse.$Properties;

function firstInvalid(...messages: Array<string | null>): void {
  const message = messages.find((m) => m !== null);
  if (message !== undefined && message !== null) throw invalid(message);
}

export interface UserHandlerOptions {
  /** True while --admin-password's `admin` is still to be created: Register waits for it. */
  readonly bootstrapPending: () => boolean;
}

export class UserHandlers {
  constructor(
    private readonly deps: PlatformDeps,
    private readonly options: UserHandlerOptions,
  ) {}

  private get platform() {
    return this.deps.node.stateMachine.platform;
  }

  async register(
    request: cairn.v1.RegisterRequest,
    context: OpenCallContext,
  ): Promise<UserResponse> {
    const caller = await this.deps.auth.authenticateIfPresent(context.metadata);
    if (caller === null) await this.deps.node.linearizableBarrier();
    firstInvalid(
      validateUsername(request.username),
      validateContact({ email: request.email, phone: request.phone }),
      validatePassword(request.password),
    );
    const roles = rolesFromProto(request.roles, "user.roles");
    if (this.options.bootstrapPending()) {
      throw new CairnError(
        "UNAVAILABLE",
        "the first user is being created from --admin-password; retry in a moment",
      );
    }
    if (this.platform.getUser(request.username) !== undefined) {
      throw new CairnError("ALREADY_EXISTS", `user ${request.username} already exists`);
    }
    const elevated = roles.some((role) => role !== "viewer");
    if (elevated && this.platform.users.size > 0) {
      if (caller === null) {
        throw new CairnError(
          "ACCESS_DENIED",
          "roles other than ROLE_VIEWER need an admin caller: log in as an admin with `cairn user login`",
        );
      }
      requireGrant(caller, "user.manage");
    }
    this.deps.gate.admit("write");
    const password = await this.deps.hasher.hash(request.password);
    const result = await this.deps.node.propose({
      kind: "user-register",
      actor: caller?.username ?? "",
      username: request.username,
      email: request.email,
      phone: request.phone,
      roles,
      password,
    });
    const { ok } = expectResult(result, "user-register");
    return {
      header: header(this.deps, ok.revision),
      user: userToProto(ok.user),
      sessionsRevoked: 0,
    };
  }

  async login(request: cairn.v1.LoginRequest): Promise<cairn.v1.LoginResponse.$Properties> {
    const ttlMs = request.ttlMs === 0 ? SESSION_TTL_DEFAULT_MS : request.ttlMs;
    const { min, max } = SESSION_TTL_MS;
    firstInvalid(
      validateUsername(request.username),
      Number.isSafeInteger(ttlMs) && ttlMs >= min && ttlMs <= max
        ? null
        : `session.ttl_ms must be ${min}..${max}, got ${ttlMs}`,
    );
    await this.deps.node.linearizableBarrier();
    const user = this.platform.users.get(request.username);
    const verified =
      user === undefined
        ? await this.deps.hasher.verifyNobody(request.password)
        : await this.deps.hasher.verify(request.password, {
            salt: user.passwordSalt,
            hash: user.passwordHash,
          });
    if (user === undefined || !verified) throw new CairnError("UNAUTHENTICATED", WRONG_CREDENTIALS);
    // Admitted like a delete: past the quota every read needs a session, and so does cleaning up.
    this.deps.gate.admit("delete");
    const token = randomBytes(TOKEN_BYTES).toString("base64url");
    const result = await this.deps.node.propose({
      kind: "user-login",
      actor: user.username,
      username: user.username,
      userVersion: user.version,
      tokenHash: tokenDigest(token),
      ttlMs,
    });
    const { ok } = expectResult(result, "user-login");
    const view = this.platform.getUser(ok.username);
    return {
      header: header(this.deps, ok.revision),
      token,
      expiresAtMs: ok.expiresAtMs,
      ...(view === undefined ? {} : { user: userToProto(view) }),
    };
  }

  async logout(
    request: cairn.v1.LogoutRequest,
    { caller }: CallContext,
  ): Promise<cairn.v1.LogoutResponse.$Properties> {
    const tokenHash = request.token === "" ? caller.tokenHash : tokenDigest(request.token);
    // Anyone may end their own sessions; ending someone else's needs user.manage.
    const owner = this.platform.sessions.get(tokenHash)?.username ?? caller.username;
    if (owner !== caller.username) requireGrant(caller, "user.manage");
    this.deps.gate.admit("delete");
    const result = await this.deps.node.propose({
      kind: "user-logout",
      actor: caller.username,
      tokenHash,
    });
    const { ok } = expectResult(result, "user-logout");
    return { header: header(this.deps, ok.revision) };
  }

  async me(_request: cairn.v1.MeRequest, { caller }: CallContext): Promise<UserResponse> {
    return this.userResponse(caller.username);
  }

  async get(request: cairn.v1.GetUserRequest, { caller }: CallContext): Promise<UserResponse> {
    const username = request.username === "" ? caller.username : request.username;
    if (username !== caller.username) requireGrant(caller, "user.read");
    return this.userResponse(username);
  }

  async list(
    request: cairn.v1.ListUsersRequest,
    { caller }: CallContext,
  ): Promise<cairn.v1.ListUsersResponse.$Properties> {
    requireGrant(caller, "user.read");
    const page = orThrow(this.platform.listUsers(pageSize(request.pageSize), request.pageToken));
    return {
      header: currentHeader(this.deps),
      users: page.users.map(userToProto),
      nextPageToken: page.nextPageToken,
    };
  }

  async update(
    request: cairn.v1.UpdateUserRequest,
    { caller }: CallContext,
  ): Promise<UserResponse> {
    const username = request.username === "" ? caller.username : request.username;
    const roles = request.roles == null ? null : rolesFromProto(request.roles.roles, "user.roles");
    if (username !== caller.username || roles !== null) requireGrant(caller, "user.manage");
    const newPassword = request.password ?? null;
    if (newPassword !== null) firstInvalid(validatePassword(newPassword));
    this.deps.gate.admit("write");
    const password = newPassword === null ? null : await this.deps.hasher.hash(newPassword);
    const result = await this.deps.node.propose({
      kind: "user-update",
      actor: caller.username,
      username,
      expectedVersion: request.expectedVersion,
      email: request.email ?? null,
      phone: request.phone ?? null,
      roles,
      password,
    });
    const { ok } = expectResult(result, "user-update");
    return {
      header: header(this.deps, ok.revision),
      user: userToProto(ok.user),
      sessionsRevoked: ok.sessionsRevoked,
    };
  }

  async delete(
    request: cairn.v1.DeleteUserRequest,
    { caller }: CallContext,
  ): Promise<cairn.v1.DeleteUserResponse.$Properties> {
    requireGrant(caller, "user.manage");
    this.deps.gate.admit("delete");
    const result = await this.deps.node.propose({
      kind: "user-delete",
      actor: caller.username,
      username: request.username,
    });
    const { ok } = expectResult(result, "user-delete");
    return { header: header(this.deps, ok.revision), sessionsRevoked: ok.sessionsRevoked };
  }

  private userResponse(username: string): UserResponse {
    const user = this.platform.getUser(username);
    if (user === undefined) throw new CairnError("NOT_FOUND", `user ${username} not found`);
    return { header: currentHeader(this.deps), user: userToProto(user), sessionsRevoked: 0 };
  }
}

export function registerUsersService(
  server: Server,
  deps: PlatformDeps,
  options: UserHandlerOptions,
): void {
  const users = new UserHandlers(deps, options);
  addTypedService(server, USERS_SERVICE, {
    Register: openUnary(deps, (r, context) => users.register(r, context)),
    Login: openUnary(deps, (r) => users.login(r)),
    Logout: authedUnary(deps, (r, context) => users.logout(r, context)),
    Me: authedUnary(deps, (r, context) => users.me(r, context)),
    Get: authedUnary(deps, (r, context) => users.get(r, context)),
    List: authedUnary(deps, (r, context) => users.list(r, context)),
    Update: authedUnary(deps, (r, context) => users.update(r, context)),
    Delete: authedUnary(deps, (r, context) => users.delete(r, context)),
  });
}
