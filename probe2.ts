import { FortressClient, FortressError, Code, Effect } from "./src/index.js";
for (const address of ["127.0.0.1:52999", "10.255.255.1:50051", "127.0.0.1:1"]) {
  const c = new FortressClient({ address, tenant: "acme", callTimeoutMs: 500, retryTimeoutMs: 2000 });
  for (const what of ["getAccount", "deposit"] as const) {
    const t0 = performance.now();
    try {
      if (what === "deposit") await c.deposit("a", 1); else await c.getAccount("a");
      console.log(address, what, "ok?!");
    } catch (e) {
      const f = e as FortressError;
      console.log(address, what, `${(performance.now() - t0).toFixed(0)} ms`, f.constructor.name, Code[f.code], Effect[f.effect], f.message.slice(0, 100));
    }
  }
  c.close();
}
