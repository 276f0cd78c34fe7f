// Browser stand-in for node's "url" (required, never used here, by @oozcitak/url).
export const URL = globalThis.URL;
export const URLSearchParams = globalThis.URLSearchParams;
export default { URL, URLSearchParams };
