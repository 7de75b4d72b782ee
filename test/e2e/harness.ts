// End-to-end tests run real member processes through cluster/process-cluster,
// with the test-only fault hooks switched on.
import { type ClusterOptions, ProcessCluster, sleep } from "../../cluster/process-cluster.js";

export const TestCluster = {
  start: (options: ClusterOptions): Promise<ProcessCluster> =>
    ProcessCluster.start({ faultHooks: true, ...options }),
};
export type TestCluster = ProcessCluster;
export { sleep };
