// The nearest limit for the ingest bench: a Fastify route that takes the same NDJSON body as text,
// splits it into lines and JSON-parses each one, and answers with the counts. Nothing else.
import Fastify from 'fastify';
const app = Fastify({ logger: false, bodyLimit: 64 * 1024 * 1024 });
app.addContentTypeParser('application/x-ndjson', { parseAs: 'string' }, (_req, body, done) => done(null, body));
app.post('/bare', async (req) => {
  let accepted = 0;
  let rejected = 0;
  for (const line of req.body.split('\n')) {
    if (!line) continue;
    try {
      const v = JSON.parse(line);
      if (v && typeof v === 'object' && typeof v.id === 'string') accepted++;
      else rejected++;
    } catch {
      rejected++;
    }
  }
  return { accepted, rejected: [], rejected_count: rejected };
});
const url = await app.listen({ host: '127.0.0.1', port: 0 });
console.log(`LISTENING ${url}`);
