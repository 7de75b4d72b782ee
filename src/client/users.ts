// cairn.v1.Users: accounts and bearer-token sessions. login() keeps the token
// in the client's Session, which sends it as `authorization: Bearer …` on
// every later call (platform and etcd alike) until logout().

import { cairn } from "../gen/cairn.js";
import { fromUser, toRole } from "./convert.js";
import { GrpcStatus, type StatusLike } from "./errors.js";
import type { CallOptions, Invoker } from "./invoker.js";
import { PageIterator } from "./pages.js";
import { USERS } from "./platform-methods.js";
import type { Page, Role, User } from "./types.js";

export interface RegisterInput {
  readonly username: string;
  readonly password: string;
  readonly email: string;
  readonly phone?: string;
  /** Empty = the default role; roles other than viewer need an admin caller. */
  readonly roles?: readonly Role[];
}

export interface LoginResult {
  readonly token: string;
  readonly expiresAtMs: number;
  readonly user: User;
}

/** Unset fields stay as they are. */
export interface UpdateUserInput {
  /** 0/unset = unconditional; otherwise ABORTED unless the user is at this version. */
  readonly expectedVersion?: number;
  readonly email?: string;
  readonly phone?: string;
  readonly roles?: readonly Role[];
  readonly password?: string;
}

export class UsersApi {
  constructor(private readonly invoker: Invoker) {}

  async register(input: RegisterInput, options: CallOptions = {}): Promise<User> {
    const response = await this.invoker.unary(
      USERS.Register,
      {
        username: input.username,
        password: input.password,
        email: input.email,
        phone: input.phone ?? "",
        roles: (input.roles ?? []).map(toRole),
      },
      { ...options, safety: "write" },
    );
    return fromUser(response.user);
  }

  /** Logs in and keeps the token for every later call of this client. */
  async login(
    username: string,
    password: string,
    options: CallOptions & { readonly ttlMs?: number } = {},
  ): Promise<LoginResult> {
    const response = await this.invoker.unary(
      USERS.Login,
      { username, password, ttlMs: options.ttlMs ?? 0 },
      { ...options, safety: "write" },
    );
    this.invoker.session.set(response.token);
    return {
      token: response.token,
      expiresAtMs: response.expiresAtMs,
      user: fromUser(response.user),
    };
  }

  /**
   * Ends the caller's session (or, for an admin, the session of `token`) and
   * forgets the stored token. Idempotent: a retry that finds the session
   * already gone (UNAUTHENTICATED) counts as done.
   */
  async logout(options: CallOptions & { readonly token?: string } = {}): Promise<void> {
    const own = options.token === undefined;
    await this.invoker.unary(
      USERS.Logout,
      { token: options.token ?? "" },
      {
        ...options,
        safety: "idempotent",
        appliedEarlier: (error: StatusLike) =>
          own && error.code === GrpcStatus.UNAUTHENTICATED
            ? cairn.v1.LogoutResponse.create()
            : null,
      },
    );
    if (own) this.invoker.session.set(null);
  }

  async me(options: CallOptions = {}): Promise<User> {
    const response = await this.invoker.unary(USERS.Me, {}, { ...options, safety: "read" });
    return fromUser(response.user);
  }

  async get(username: string, options: CallOptions = {}): Promise<User> {
    const response = await this.invoker.unary(
      USERS.Get,
      { username },
      { ...options, safety: "read" },
    );
    return fromUser(response.user);
  }

  /** Every user (admins), one page per iteration step. */
  list(options: CallOptions & { readonly pageSize?: number } = {}): PageIterator<User> {
    return new PageIterator(async (pageToken): Promise<Page<User>> => {
      const response = await this.invoker.unary(
        USERS.List,
        { pageSize: options.pageSize ?? 0, pageToken },
        { ...options, safety: "read" },
      );
      return {
        items: response.users.map(fromUser),
        nextPageToken: response.nextPageToken,
        revision: response.header?.revision ?? 0,
      };
    });
  }

  async update(
    username: string,
    input: UpdateUserInput,
    options: CallOptions = {},
  ): Promise<{ user: User; sessionsRevoked: number }> {
    const request: cairn.v1.UpdateUserRequest.$Properties = {
      username,
      expectedVersion: input.expectedVersion ?? 0,
      ...(input.email === undefined ? {} : { email: input.email }),
      ...(input.phone === undefined ? {} : { phone: input.phone }),
      ...(input.password === undefined ? {} : { password: input.password }),
      ...(input.roles === undefined ? {} : { roles: { roles: input.roles.map(toRole) } }),
    };
    const response = await this.invoker.unary(USERS.Update, request, {
      ...options,
      safety: "write",
    });
    return { user: fromUser(response.user), sessionsRevoked: response.sessionsRevoked };
  }

  async delete(username: string, options: CallOptions = {}): Promise<{ sessionsRevoked: number }> {
    const response = await this.invoker.unary(
      USERS.Delete,
      { username },
      { ...options, safety: "write" },
    );
    return { sessionsRevoked: response.sessionsRevoked };
  }
}
