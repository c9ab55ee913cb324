import { sql, type Kysely } from 'kysely';

/**
 * warden_quota_consume, same contract and decisions as migration 0010, in two set-based statements
 * per call instead of two per (ask, scope, window) (docs/decisions/0018-ledger-set-based.md).
 *
 * The 0010 function ran, for every ask of the batch, a SUM query and an upsert per scope key and
 * window: 9 + 9 statements per reveal (account, device and site scopes), each an SPI executor start;
 * on the reveal bench it held half of PostgreSQL's statement time (2.7 ms a call). Now, under the
 * same sorted advisory locks:
 * 1. one query reads what every distinct key of the batch has used in each window (the index range
 *    `start > now - span - width`, the same buckets 0010's filter counted);
 * 2. the asks are decided in arrival order against those counts in memory, each admitted ask
 *    adding its records to the keys it names, so a later ask of the same batch sees it, as before;
 * 3. one upsert writes the admitted records, summed per (key, window): the batch has one clock, so
 *    one bucket per (key, window).
 * A refusal's retry-after walks the buckets as before, after writing what the batch admitted so far
 * (the walk must see it); refusals are rare and keep the old cost.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql.raw(`create or replace function warden_quota_consume(p_req int[], p_keys text[], p_lims int[], p_n int[], p_now bigint)
     returns table(o_req int, o_ok boolean, o_key int, o_win int, o_lim int, o_retry_ms bigint)
     language plpgsql as $fn$
     declare
       spans constant bigint[] := array[60000, 3600000, 86400000];
       widths constant bigint[] := array[5000, 60000, 900000];
       nk int := coalesce(array_length(p_keys, 1), 0);
       dk text[];
       slot int[];
       used bigint[];
       added bigint[];
       i int; j int; w int; l int; d int; cum bigint; excess bigint; failed boolean; b record;
     begin
       dk := array(select distinct pk from unnest(p_keys) pk order by pk);
       perform pg_advisory_xact_lock(hashtextextended(lk, 7110)) from unnest(dk) lk;
       slot := array(select array_position(dk, pk) from unnest(p_keys) with ordinality o(pk, pos) order by pos);
       used := array(
         select coalesce((select sum(q.n) from quota_buckets q
                          where q.key = u.ukey and q.win = g.gwin and q.start > p_now - spans[g.gwin] - widths[g.gwin]), 0)
         from unnest(dk) with ordinality u(ukey, upos) cross join generate_series(1, 3) g(gwin)
         order by u.upos, g.gwin);
       added := array_fill(0::bigint, array[coalesce(array_length(dk, 1), 0) * 3]);
       for i in 1 .. coalesce(array_length(p_n, 1), 0) loop
         failed := false;
         <<scopes>>
         for j in 1 .. nk loop
           continue when p_req[j] <> i;
           d := slot[j];
           for w in 1 .. 3 loop
             l := p_lims[(j - 1) * 3 + w];
             continue when l < 0;
             if used[(d - 1) * 3 + w] + p_n[i] > l then
               -- The walk below reads the buckets: write what this batch admitted first.
               insert into quota_buckets as q (key, win, start, n)
                 select dk[(s - 1) / 3 + 1], (s - 1) % 3 + 1, (p_now / widths[(s - 1) % 3 + 1]) * widths[(s - 1) % 3 + 1], added[s]
                 from generate_subscripts(added, 1) s where added[s] > 0
                 on conflict (key, win, start) do update set n = q.n + excluded.n;
               added := array_fill(0::bigint, array[coalesce(array_length(dk, 1), 0) * 3]);
               excess := used[(d - 1) * 3 + w] + p_n[i] - l;
               cum := 0;
               o_retry_ms := spans[w];
               for b in select q.start, q.n from quota_buckets q
                   where q.key = p_keys[j] and q.win = w and q.start > p_now - spans[w] order by q.start loop
                 cum := cum + b.n;
                 if cum >= excess then
                   o_retry_ms := greatest(1000, b.start + widths[w] + spans[w] - p_now);
                   exit;
                 end if;
               end loop;
               o_req := i; o_ok := false; o_key := j; o_win := w; o_lim := l;
               return next;
               failed := true;
               exit scopes;
             end if;
           end loop;
         end loop;
         if not failed then
           for j in 1 .. nk loop
             continue when p_req[j] <> i;
             d := slot[j];
             for w in 1 .. 3 loop
               used[(d - 1) * 3 + w] := used[(d - 1) * 3 + w] + p_n[i];
               added[(d - 1) * 3 + w] := added[(d - 1) * 3 + w] + p_n[i];
             end loop;
           end loop;
           o_req := i; o_ok := true; o_key := null; o_win := null; o_lim := null; o_retry_ms := null;
           return next;
         end if;
       end loop;
       insert into quota_buckets as q (key, win, start, n)
         select dk[(s - 1) / 3 + 1], (s - 1) % 3 + 1, (p_now / widths[(s - 1) % 3 + 1]) * widths[(s - 1) % 3 + 1], added[s]
         from generate_subscripts(added, 1) s where added[s] > 0
         on conflict (key, win, start) do update set n = q.n + excluded.n;
     end
     $fn$`).execute(db);
}

export async function down(): Promise<void> {
  throw new Error('not reversible');
}
