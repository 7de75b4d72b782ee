// etcd's server-side Election service definition (v3electionpb); handlers in
// election-handlers.ts and observe.ts.
import { v3electionpb } from "../../gen/etcd.js";
import { serverStreamMethod, unaryMethod } from "../../transport/grpc-codec.js";

export const ELECTION_SERVICE = {
  Campaign: unaryMethod(
    "/v3electionpb.Election/Campaign",
    v3electionpb.CampaignRequest,
    v3electionpb.CampaignResponse,
  ),
  Proclaim: unaryMethod(
    "/v3electionpb.Election/Proclaim",
    v3electionpb.ProclaimRequest,
    v3electionpb.ProclaimResponse,
  ),
  Leader: unaryMethod(
    "/v3electionpb.Election/Leader",
    v3electionpb.LeaderRequest,
    v3electionpb.LeaderResponse,
  ),
  Observe: serverStreamMethod(
    "/v3electionpb.Election/Observe",
    v3electionpb.LeaderRequest,
    v3electionpb.LeaderResponse,
  ),
  Resign: unaryMethod(
    "/v3electionpb.Election/Resign",
    v3electionpb.ResignRequest,
    v3electionpb.ResignResponse,
  ),
};
