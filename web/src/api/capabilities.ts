/**
 * Which planned API routes this server has, read from its own OpenAPI document (/docs/json):
 * the console shows an action disabled, with the reason, rather than calling a route that is
 * not there. A route that still answers 404 at run time is treated the same way.
 */
import { useEffect, useState } from 'react';

interface OpenApiDoc {
  paths?: Record<string, Record<string, { requestBody?: { content?: Record<string, { schema?: { properties?: Record<string, unknown> } }> }; parameters?: Array<{ name: string; in: string }> }>>;
}

export interface Capabilities {
  has(method: string, path: string): boolean;
  bodyField(method: string, path: string, field: string): boolean;
  queryParam(method: string, path: string, name: string): boolean;
}

let cached: Promise<Capabilities> | null = null;

export function loadCapabilities(): Promise<Capabilities> {
  cached ??= fetch('/docs/json')
    .then((r) => (r.ok ? (r.json() as Promise<OpenApiDoc>) : ({} as OpenApiDoc)))
    .catch(() => ({}) as OpenApiDoc)
    .then((doc: OpenApiDoc): Capabilities => {
      const op = (method: string, path: string) => doc.paths?.[`/api/v1${path}`]?.[method.toLowerCase()];
      return {
        has: (method, path) => op(method, path) !== undefined,
        bodyField: (method, path, field) => Object.values(op(method, path)?.requestBody?.content ?? {}).some((c) => c.schema?.properties?.[field] !== undefined),
        queryParam: (method, path, name) => (op(method, path)?.parameters ?? []).some((p) => p.in === 'query' && p.name === name),
      };
    });
  return cached;
}

export function useCapabilities(): Capabilities | null {
  const [caps, setCaps] = useState<Capabilities | null>(null);
  useEffect(() => {
    let live = true;
    void loadCapabilities().then((c) => live && setCaps(c));
    return () => {
      live = false;
    };
  }, []);
  return caps;
}
