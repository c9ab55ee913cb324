// The nearest limit for the reveal bench: a Fastify route with a JSON body and a JSON answer, nothing else.
import Fastify from 'fastify';
const app = Fastify({ logger: false });
app.post('/bare', async (req) => ({ waybill: 'SF100000000001', values: { 'recipient.phone': '13900001111' }, echo: req.body.purpose }));
const url = await app.listen({ host: '127.0.0.1', port: 0 });
console.log(`LISTENING ${url}`);
