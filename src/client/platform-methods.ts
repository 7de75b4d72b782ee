// The cairn.v1 platform services (proto/cairn/v1/*.proto) as typed method
// descriptors, one object per service, bound to the generated codecs.
import { cairn } from "../gen/cairn.js";
import { serverStreamMethod, unaryMethod } from "./rpc.js";

export const USERS = {
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
} as const;

export const RESOURCES = {
  Create: unaryMethod(
    "/cairn.v1.Resources/Create",
    cairn.v1.CreateResourceRequest,
    cairn.v1.ResourceResponse,
  ),
  Get: unaryMethod(
    "/cairn.v1.Resources/Get",
    cairn.v1.GetResourceRequest,
    cairn.v1.ResourceResponse,
  ),
  List: unaryMethod(
    "/cairn.v1.Resources/List",
    cairn.v1.ListResourcesRequest,
    cairn.v1.ListResourcesResponse,
  ),
  Update: unaryMethod(
    "/cairn.v1.Resources/Update",
    cairn.v1.UpdateResourceRequest,
    cairn.v1.ResourceResponse,
  ),
  Start: unaryMethod(
    "/cairn.v1.Resources/Start",
    cairn.v1.ResourceActionRequest,
    cairn.v1.ResourceResponse,
  ),
  Stop: unaryMethod(
    "/cairn.v1.Resources/Stop",
    cairn.v1.ResourceActionRequest,
    cairn.v1.ResourceResponse,
  ),
  Restart: unaryMethod(
    "/cairn.v1.Resources/Restart",
    cairn.v1.ResourceActionRequest,
    cairn.v1.ResourceResponse,
  ),
  Delete: unaryMethod(
    "/cairn.v1.Resources/Delete",
    cairn.v1.ResourceActionRequest,
    cairn.v1.ResourceResponse,
  ),
  ReportError: unaryMethod(
    "/cairn.v1.Resources/ReportError",
    cairn.v1.ResourceActionRequest,
    cairn.v1.ResourceResponse,
  ),
  InstallSoftware: unaryMethod(
    "/cairn.v1.Resources/InstallSoftware",
    cairn.v1.InstallSoftwareRequest,
    cairn.v1.ResourceResponse,
  ),
  Stats: unaryMethod(
    "/cairn.v1.Resources/Stats",
    cairn.v1.ResourceStatsRequest,
    cairn.v1.ResourceStatsResponse,
  ),
  Watch: serverStreamMethod(
    "/cairn.v1.Resources/Watch",
    cairn.v1.WatchResourcesRequest,
    cairn.v1.WatchResourcesResponse,
  ),
} as const;

export const OPLOG = {
  List: unaryMethod("/cairn.v1.OpLog/List", cairn.v1.ListOpLogRequest, cairn.v1.ListOpLogResponse),
  SetRetention: unaryMethod(
    "/cairn.v1.OpLog/SetRetention",
    cairn.v1.SetRetentionRequest,
    cairn.v1.SetRetentionResponse,
  ),
  Watch: serverStreamMethod(
    "/cairn.v1.OpLog/Watch",
    cairn.v1.WatchOpLogRequest,
    cairn.v1.WatchOpLogResponse,
  ),
} as const;

export const LOCKS = {
  Acquire: unaryMethod(
    "/cairn.v1.Locks/Acquire",
    cairn.v1.AcquireLockRequest,
    cairn.v1.AcquireLockResponse,
  ),
  TryAcquire: unaryMethod(
    "/cairn.v1.Locks/TryAcquire",
    cairn.v1.AcquireLockRequest,
    cairn.v1.AcquireLockResponse,
  ),
  Release: unaryMethod(
    "/cairn.v1.Locks/Release",
    cairn.v1.ReleaseLockRequest,
    cairn.v1.ReleaseLockResponse,
  ),
  Get: unaryMethod("/cairn.v1.Locks/Get", cairn.v1.GetLockRequest, cairn.v1.GetLockResponse),
} as const;

export const MEMBERSHIP = {
  Join: unaryMethod("/cairn.v1.Membership/Join", cairn.v1.JoinRequest, cairn.v1.JoinResponse),
  Leave: unaryMethod("/cairn.v1.Membership/Leave", cairn.v1.LeaveRequest, cairn.v1.LeaveResponse),
  List: unaryMethod(
    "/cairn.v1.Membership/List",
    cairn.v1.ListMembersRequest,
    cairn.v1.ListMembersResponse,
  ),
  Locate: unaryMethod(
    "/cairn.v1.Membership/Locate",
    cairn.v1.LocateRequest,
    cairn.v1.LocateResponse,
  ),
  Watch: serverStreamMethod(
    "/cairn.v1.Membership/Watch",
    cairn.v1.WatchMembershipRequest,
    cairn.v1.WatchMembershipResponse,
  ),
} as const;
