/** Content security policies of what the server serves as pages: the console at `/`, Swagger UI at `/docs`. */

/** The console's: same-origin scripts only, never framed. */
export const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  // Ant Design writes its component styles at run time (CSS-in-JS).
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * Swagger UI at /docs: the console's policy and no inline event handlers (attack review 9: /docs had
 * neither a CSP nor X-Frame-Options while `/` had both).
 */
export const DOCS_CSP = `${CSP}; script-src-attr 'none'`;
