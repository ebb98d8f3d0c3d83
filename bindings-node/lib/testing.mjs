// ES module entry of modelport/testing (testing.cjs).
import testing from "./testing.cjs";

export const { ReplayServer } = testing;
export default testing;
