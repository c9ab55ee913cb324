import { sql, type Kysely } from 'kysely';

/**
 * The shared ledger (docs/decisions/0011-shared-ledger.md): quota and throttle counts every
 * `warden serve` process on one database reads and moves, and login-failure counts.
 *
 * - quota_buckets: records counted per key (scope), window (1 minute, 2 hour, 3 day) and bucket
 *   start (ms since the epoch; 5 s, 1 min and 15 min buckets, as the in-memory ledger).
 * - warden_quota_consume: a batch of consumptions in one statement. It takes a transaction-scoped
 *   advisory lock on every key of the batch (sorted, so two batches never deadlock), then for each
 *   request in order checks every window of every scope and counts it only if all fit: exact
 *   across processes, one round trip for all the reveals of an event-loop turn.
 * - login_failures / login_known_good: the login throttle's counts and trusted networks.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql.raw(`create table quota_buckets (
       key text not null,
       win smallint not null,
       start bigint not null,
       n integer not null,
       primary key (key, win, start))`).execute(db);
  await sql.raw(`create table login_failures (
       key text primary key,
       count integer not null,
       last bigint not null)`).execute(db);
  await sql.raw(`create table login_known_good (
       pair text primary key,
       at bigint not null)`).execute(db);
  await sql.raw(`create function warden_quota_consume(p_req int[], p_keys text[], p_lims int[], p_n int[], p_now bigint)
     returns table(o_req int, o_ok boolean, o_key int, o_win int, o_lim int, o_retry_ms bigint)
     language plpgsql as $fn$
     declare
       spans constant bigint[] := array[60000, 3600000, 86400000];
       widths constant bigint[] := array[5000, 60000, 900000];
       i int; j int; w int; l int; used bigint; cum bigint; excess bigint; failed boolean; b record;
     begin
       perform pg_advisory_xact_lock(hashtextextended(s.k, 7110)) from (select distinct k from unnest(p_keys) k order by k) s;
       for i in 1 .. coalesce(array_length(p_n, 1), 0) loop
         failed := false;
         <<scopes>>
         for j in 1 .. coalesce(array_length(p_keys, 1), 0) loop
           continue when p_req[j] <> i;
           for w in 1 .. 3 loop
             l := p_lims[(j - 1) * 3 + w];
             continue when l < 0;
             select coalesce(sum(q.n), 0) into used from quota_buckets q
               where q.key = p_keys[j] and q.win = w and q.start + widths[w] > p_now - spans[w];
             if used + p_n[i] > l then
               excess := used + p_n[i] - l;
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
           for j in 1 .. coalesce(array_length(p_keys, 1), 0) loop
             continue when p_req[j] <> i;
             for w in 1 .. 3 loop
               insert into quota_buckets as q (key, win, start, n) values (p_keys[j], w, (p_now / widths[w]) * widths[w], p_n[i])
                 on conflict (key, win, start) do update set n = q.n + excluded.n;
             end loop;
           end loop;
           o_req := i; o_ok := true; o_key := null; o_win := null; o_lim := null; o_retry_ms := null;
           return next;
         end if;
       end loop;
     end
     $fn$`).execute(db);
}

export async function down(): Promise<void> {
  throw new Error('not reversible');
}
