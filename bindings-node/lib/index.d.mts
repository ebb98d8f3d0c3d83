// Types of the ES module entry (index.mjs): the declarations of index.d.ts, typed as an ES module so
// that `import` from TypeScript under "module": "nodenext" resolves them as what Node loads.
import * as modelport from "./index.js";

export * from "./index.js";
export default modelport;
