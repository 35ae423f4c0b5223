import { CASES } from "./cases.ts";
import { observe } from "./harness.ts";
import { MODULE, BASELINE } from "./implementations.ts";
const c = CASES.find((x) => x.name.startsWith(process.argv[2]!))!;
for (const impl of [MODULE, BASELINE]) {
  const t = setTimeout(() => { console.log(impl.name, "HANG"); process.exit(1); }, 3000);
  const o = await observe(impl.api, c.scenario);
  clearTimeout(t);
  console.log(impl.name, JSON.stringify(o, null, 0).slice(0, 1500));
}
