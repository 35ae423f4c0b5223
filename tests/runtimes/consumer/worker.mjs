// Cloudflare Workers (workerd, through miniflare), bundled with esbuild as Workers projects are:
// `GET /?mock=URL` runs the smoke and the flow against the mock; `GET /cold` only calls once.
import * as oauth from "oauth-device-flow-wasm";
import { flow, smoke } from "./smoke.mjs";

export default {
  async fetch(request) {
    const url = new URL(request.url);
    if (url.pathname === "/cold") {
      return Response.json({ expired: oauth.isAccessTokenExpired({ accessToken: "x", tokenType: "Bearer", expiresAt: 2_000_000_000_000 }, () => 1_000_000_000_000) });
    }
    try {
      const result = { runtime: "workerd", ...(await smoke()) };
      const mock = url.searchParams.get("mock");
      if (mock) result.flow = await flow(mock);
      return Response.json(result);
    } catch (e) {
      return Response.json({ error: String(e && e.stack ? e.stack : e) }, { status: 500 });
    }
  },
};
