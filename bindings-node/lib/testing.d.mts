// Types of the ES module entry testing.mjs: the declarations of testing.d.ts as an ES module.
import * as testing from "./testing.js";

export * from "./testing.js";
export default testing;
