// Loaded into the Portkey gateway by bench.py (node --import), unless
// BENCH_PORTKEY_FIX=0. Portkey 1.15.2 (and 1.9.8, the only other version on
// the registry the bench can reach) appends its x-portkey-* headers to the
// upstream's fetch() Response when it passes a stream through; that Response's
// headers are immutable under Node's fetch (undici), so every stream answers
// HTTP 500 "Something went wrong" (TypeError: immutable in
// ResponseService.updateHeaders; Portkey-AI/gateway issues #1389, #1550).
// This gives every fetch() Response fresh, mutable headers: what Portkey's
// proposed fix (pull request #1551) does for mapped streams, applied to all.
const realFetch = globalThis.fetch;
globalThis.fetch = async function (...args) {
  const r = await realFetch.apply(this, args);
  const nullBody = [101, 204, 205, 304].includes(r.status);
  return new Response(nullBody ? null : r.body,
                      { status: r.status, statusText: r.statusText, headers: r.headers });
};
