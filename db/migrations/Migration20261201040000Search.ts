import { Migration } from '@mikro-orm/migrations';

/**
 * Unified search on PostgreSQL (the embedded engine; Typesense mirrors the same documents).
 *
 * - `search_documents`: one row per searchable thing — the DG catalogue (company_id NULL, global)
 *   and each company's shipments, vehicles, drivers (and F's documents and SDS). Writers give the
 *   title, display fields, UN numbers, classes and status; a BEFORE trigger derives what is
 *   searched (the normalised title, a weighted tsvector, the class groups), so every path that
 *   writes a row indexes it the same way.
 * - Kept consistent with the source tables in their own transaction: AFTER triggers on shipments,
 *   consignment_items, vehicles, drivers and dangerous_goods call `search_index_<type>(id)`, which
 *   reads the row as it now is and puts or removes its document (`search_index_trigger`).
 *   Other tables join the same way (search/README.md).
 * - Row-level security: a company reads the catalogue and its own rows, and may write only its
 *   own; catalogue rows are written by the catalogue's triggers (owner's rights) alone.
 * - `search_terms`: the words the index holds (per company, catalogue words global), for typo
 *   correction by trigram similarity on a small table instead of on every document.
 * - `search_outbox`: while an external engine (Typesense) mirrors the index, each change is
 *   queued in the same transaction and drained by a Temporal activity (retried, never lost).
 */
export class Migration20261201040000Search extends Migration {
  override async up(): Promise<void> {
    // Trusted extensions (the database owner may create them); the provisioning creates both already.
    this.addSql('CREATE EXTENSION IF NOT EXISTS pg_trgm');
    this.addSql('CREATE EXTENSION IF NOT EXISTS unaccent');

    // Must agree with normalizeSearchText in domain/search-query.ts: queries are normalised there.
    // STABLE like unaccent, so it is inlined where it is called: a SQL function that is not is planned anew on every call.
    this.addSql(`
      CREATE FUNCTION search_normalize(value text) RETURNS text LANGUAGE sql STABLE PARALLEL SAFE AS
      $$ SELECT btrim(regexp_replace(lower(public.unaccent('public.unaccent'::regdictionary, coalesce(value, ''))), '[^[:alnum:]]+', ' ', 'g')) $$`);

    // Values written out, not imported from domain/: a migration keeps what it meant when it ran.
    this.addSql(`
      CREATE TABLE search_documents (
        doc_type text NOT NULL CHECK (doc_type IN ('dangerous-good', 'shipment', 'vehicle', 'driver', 'document', 'sds')),
        doc_id uuid NOT NULL,
        company_id uuid REFERENCES companies(id) ON DELETE CASCADE,
        title text NOT NULL CHECK (length(title) BETWEEN 1 AND 1000),
        fields jsonb NOT NULL DEFAULT '{}'::jsonb
          CHECK (jsonb_typeof(fields) = 'object' AND NOT jsonb_path_exists(fields, '$.* ? (@.type() != "string" && @.type() != "null")')),
        un_numbers text[] NOT NULL DEFAULT '{}',
        classes text[] NOT NULL DEFAULT '{}',
        status text,
        class_groups text[] NOT NULL DEFAULT '{}',
        title_key text COLLATE "C" NOT NULL DEFAULT '',
        tsv tsvector NOT NULL DEFAULT ''::tsvector,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (doc_type, doc_id)
      )`);
    this.addSql('CREATE INDEX search_documents_tsv ON search_documents USING gin (tsv) WHERE company_id IS NOT NULL');
    this.addSql('CREATE INDEX search_documents_catalogue_tsv ON search_documents USING gin (tsv) WHERE company_id IS NULL');
    // Partial: the catalogue's matches are found by its own GIN index, never by walking this one (common words are rare there).
    this.addSql('CREATE INDEX search_documents_recent ON search_documents (company_id, updated_at DESC) WHERE company_id IS NOT NULL');
    // Suggestions as you type: a range scan per scope (the catalogue, the caller's company), in title order.
    this.addSql('CREATE INDEX search_documents_title_prefix ON search_documents (company_id, title_key)');
    this.addSql(`CREATE INDEX search_documents_un_prefix ON search_documents ((un_numbers[1] COLLATE "C")) WHERE doc_type = 'dangerous-good'`);

    // Invoker's rights and every name qualified, so no SET clause: that would cost each row a configuration change.
    this.addSql(`
      CREATE FUNCTION search_documents_derive() RETURNS trigger LANGUAGE plpgsql AS
      $$ DECLARE
        body text;
      BEGIN
        NEW.un_numbers := ARRAY(SELECT DISTINCT upper(u) FROM unnest(NEW.un_numbers) u WHERE u IS NOT NULL ORDER BY 1);
        NEW.classes := ARRAY(SELECT DISTINCT c FROM unnest(NEW.classes) c WHERE c IS NOT NULL ORDER BY 1);
        NEW.class_groups := ARRAY(SELECT DISTINCT split_part(c, '.', 1) FROM unnest(NEW.classes) c WHERE split_part(c, '.', 1) ~ '^[1-9]$' ORDER BY 1);
        NEW.title_key := public.search_normalize(NEW.title);
        body := (SELECT string_agg(value, ' ') FROM pg_catalog.jsonb_each_text(NEW.fields) WHERE value IS NOT NULL);
        -- Title and UN numbers weigh most, then the fields, then the status. Past 200,000 characters
        -- (a long extracted text) nothing more is indexed: positions stop counting there anyway.
        NEW.tsv := setweight(to_tsvector('simple', NEW.title_key || ' ' || lower(array_to_string(NEW.un_numbers, ' '))), 'A')
                || setweight(to_tsvector('simple', public.search_normalize(left(body, 200000))), 'B')
                || setweight(to_tsvector('simple', public.search_normalize(NEW.status)), 'C');
        NEW.updated_at := now();
        RETURN NEW;
      END $$`);
    this.addSql('CREATE TRIGGER search_documents_derive BEFORE INSERT OR UPDATE ON search_documents FOR EACH ROW EXECUTE FUNCTION search_documents_derive()');

    this.addSql('ALTER TABLE search_documents ENABLE ROW LEVEL SECURITY');
    this.addSql('CREATE POLICY search_read ON search_documents FOR SELECT USING (company_id IS NULL OR company_id = current_company_id())');
    this.addSql('CREATE POLICY search_insert ON search_documents FOR INSERT WITH CHECK (company_id = current_company_id())');
    this.addSql('CREATE POLICY search_update ON search_documents FOR UPDATE USING (company_id = current_company_id()) WITH CHECK (company_id = current_company_id())');
    this.addSql('CREATE POLICY search_delete ON search_documents FOR DELETE USING (company_id = current_company_id())');
    this.addSql('GRANT SELECT, INSERT, UPDATE, DELETE ON search_documents TO safeshipper_app');

    this.addSql(`
      CREATE TABLE search_terms (
        company_id uuid REFERENCES companies(id) ON DELETE CASCADE,
        term text COLLATE "C" NOT NULL CHECK (length(term) BETWEEN 4 AND 48),
        UNIQUE NULLS NOT DISTINCT (company_id, term)
      )`);
    this.addSql('CREATE INDEX search_terms_trgm ON search_terms USING gin (term gin_trgm_ops)');
    this.addSql('ALTER TABLE search_terms ENABLE ROW LEVEL SECURITY');
    this.addSql('CREATE POLICY search_terms_read ON search_terms FOR SELECT USING (company_id IS NULL OR company_id = current_company_id())');
    this.addSql('GRANT SELECT ON search_terms TO safeshipper_app');

    // Whether an external engine mirrors the index (one row), and the changes it has yet to take.
    this.addSql(`
      CREATE TABLE search_sync (
        singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
        external_engine text,
        enabled_at timestamptz
      )`);
    this.addSql('INSERT INTO search_sync DEFAULT VALUES');
    this.addSql(`
      CREATE TABLE search_outbox (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        doc_type text NOT NULL,
        doc_id uuid NOT NULL,
        queued_at timestamptz NOT NULL DEFAULT now()
      )`);

    // Words are learnt as documents arrive and never forgotten: a stale word only costs a correction
    // slot, while counting uses would make every write contend on common words.
    this.addSql(`
      CREATE FUNCTION search_documents_changed() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS
      $$ BEGIN
        IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND OLD.tsv IS DISTINCT FROM NEW.tsv) THEN
          -- Only the words this change brought (a status change brings one or two, not the whole document again),
          -- in one order: two writers learning the same new words wait for each other, never deadlock.
          INSERT INTO search_terms (company_id, term)
          SELECT NEW.company_id, word
            FROM (SELECT unnest(tsvector_to_array(NEW.tsv))
                  EXCEPT SELECT unnest(tsvector_to_array(OLD.tsv)) WHERE TG_OP = 'UPDATE' AND OLD.company_id IS NOT DISTINCT FROM NEW.company_id) w(word)
           WHERE word ~ '^[[:alpha:]]{4,48}$'
           ORDER BY word
          ON CONFLICT DO NOTHING;
        END IF;
        IF (SELECT external_engine FROM search_sync) IS NOT NULL THEN
          IF TG_OP = 'DELETE' THEN
            INSERT INTO search_outbox (doc_type, doc_id) VALUES (OLD.doc_type, OLD.doc_id);
          ELSE
            INSERT INTO search_outbox (doc_type, doc_id) VALUES (NEW.doc_type, NEW.doc_id);
          END IF;
          PERFORM pg_notify('search_outbox', '');
        END IF;
        RETURN NULL;
      END $$`);
    this.addSql('CREATE TRIGGER search_documents_changed AFTER INSERT OR UPDATE OR DELETE ON search_documents FOR EACH ROW EXECUTE FUNCTION search_documents_changed()');

    // The writers' API (search/README.md). Invoker's rights: called by the app role, row-level
    // security lets it write only its own company's documents; from an owner's trigger, any.
    this.addSql(`
      CREATE FUNCTION search_index_put(p_type text, p_id uuid, p_company_id uuid, p_title text, p_fields jsonb,
                                       p_un_numbers text[] DEFAULT '{}', p_classes text[] DEFAULT '{}', p_status text DEFAULT NULL)
      RETURNS void LANGUAGE sql SET search_path = public AS
      $$ INSERT INTO search_documents AS d (doc_type, doc_id, company_id, title, fields, un_numbers, classes, status)
         VALUES (p_type, p_id, p_company_id, p_title, coalesce(p_fields, '{}'::jsonb), coalesce(p_un_numbers, '{}'), coalesce(p_classes, '{}'), p_status)
         ON CONFLICT (doc_type, doc_id) DO UPDATE
           SET company_id = excluded.company_id, title = excluded.title, fields = excluded.fields,
               un_numbers = excluded.un_numbers, classes = excluded.classes, status = excluded.status
           WHERE (d.company_id, d.title, d.fields, d.un_numbers, d.classes, d.status)
                 IS DISTINCT FROM (excluded.company_id, excluded.title, excluded.fields, excluded.un_numbers, excluded.classes, excluded.status) $$`);
    this.addSql(`
      CREATE FUNCTION search_index_remove(p_type text, p_id uuid) RETURNS void LANGUAGE sql SET search_path = public AS
      $$ DELETE FROM search_documents WHERE doc_type = p_type AND doc_id = p_id $$`);

    /** A source row changed: `search_index_<type>(id)` (TG_ARGV[0]) re-reads it by the id in column TG_ARGV[1]. */
    this.addSql(`
      CREATE FUNCTION search_index_trigger() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS
      $$ DECLARE
        old_id uuid;
        new_id uuid;
      BEGIN
        IF TG_OP <> 'INSERT' THEN old_id := (to_jsonb(OLD) ->> TG_ARGV[1])::uuid; END IF;
        IF TG_OP <> 'DELETE' THEN new_id := (to_jsonb(NEW) ->> TG_ARGV[1])::uuid; END IF;
        IF new_id IS NOT NULL THEN EXECUTE format('SELECT %I($1)', TG_ARGV[0]) USING new_id; END IF;
        IF old_id IS NOT NULL AND old_id IS DISTINCT FROM new_id THEN EXECUTE format('SELECT %I($1)', TG_ARGV[0]) USING old_id; END IF;
        RETURN NULL;
      END $$`);

    this.addSql(`
      CREATE FUNCTION search_index_shipment(p_id uuid) RETURNS void LANGUAGE plpgsql SET search_path = public AS
      $$ DECLARE
        s record;
      BEGIN
        SELECT sh.id, sh.company_id, sh.shipment_number, sh.status, sh.origin_address, sh.destination_address,
               coalesce(array_agg(DISTINCT dg.un_number) FILTER (WHERE dg.un_number IS NOT NULL), '{}') AS un_numbers,
               coalesce(array_agg(DISTINCT dg.hazard_class) FILTER (WHERE dg.hazard_class IS NOT NULL), '{}') AS classes,
               string_agg(DISTINCT dg.proper_shipping_name, '; ') AS goods,
               string_agg(DISTINCT ci.technical_name, '; ') AS technical_names
          INTO s
          FROM shipments sh
          LEFT JOIN consignment_items ci ON ci.shipment_id = sh.id
          LEFT JOIN dangerous_goods dg ON dg.id = ci.dangerous_good_id
         WHERE sh.id = p_id
         GROUP BY sh.id;
        IF NOT FOUND THEN
          PERFORM search_index_remove('shipment', p_id);
        ELSE
          PERFORM search_index_put('shipment', s.id, s.company_id, s.shipment_number,
            jsonb_build_object('origin', s.origin_address, 'destination', s.destination_address, 'goods', s.goods, 'technicalNames', s.technical_names),
            s.un_numbers, s.classes, s.status);
        END IF;
      END $$`);
    this.addSql(`
      CREATE FUNCTION search_index_vehicle(p_id uuid) RETURNS void LANGUAGE plpgsql SET search_path = public AS
      $$ DECLARE
        v record;
      BEGIN
        SELECT * INTO v FROM vehicles WHERE id = p_id;
        IF NOT FOUND THEN
          PERFORM search_index_remove('vehicle', p_id);
        ELSE
          PERFORM search_index_put('vehicle', v.id, v.company_id, v.registration, jsonb_build_object('vehicleType', v.vehicle_type), '{}', '{}', v.status);
        END IF;
      END $$`);
    this.addSql(`
      CREATE FUNCTION search_index_driver(p_id uuid) RETURNS void LANGUAGE plpgsql SET search_path = public AS
      $$ DECLARE
        d record;
      BEGIN
        SELECT * INTO d FROM drivers WHERE id = p_id;
        IF NOT FOUND THEN
          PERFORM search_index_remove('driver', p_id);
        ELSE
          PERFORM search_index_put('driver', d.id, d.company_id, d.full_name,
            jsonb_build_object('dgLicenceNumber', d.dg_licence_number, 'dgLicenceClass', d.dg_licence_class), '{}', '{}', NULL);
        END IF;
      END $$`);
    // A withdrawn catalogue entry leaves the index (the row stays, for the shipments that cite it).
    this.addSql(`
      CREATE FUNCTION search_index_dangerous_good(p_id uuid) RETURNS void LANGUAGE plpgsql SET search_path = public AS
      $$ DECLARE
        g record;
      BEGIN
        SELECT * INTO g FROM dangerous_goods WHERE id = p_id AND withdrawn_at IS NULL;
        IF NOT FOUND THEN
          PERFORM search_index_remove('dangerous-good', p_id);
        ELSE
          PERFORM search_index_put('dangerous-good', g.id, NULL, g.proper_shipping_name,
            jsonb_build_object('unNumber', g.un_number, 'hazardClass', g.hazard_class_raw, 'packingGroup', g.packing_group,
                               'subsidiaryRisks', nullif(array_to_string(g.subsidiary_risks, ', '), '')),
            CASE WHEN g.un_number IS NULL THEN '{}'::text[] ELSE ARRAY[g.un_number] END,
            CASE WHEN g.hazard_class IS NULL THEN '{}'::text[] ELSE ARRAY[g.hazard_class] END, NULL);
        END IF;
      END $$`);

    this.addSql(`CREATE TRIGGER search_index AFTER INSERT OR DELETE OR UPDATE OF shipment_number, status, origin_address, destination_address, company_id ON shipments
      FOR EACH ROW EXECUTE FUNCTION search_index_trigger('search_index_shipment', 'id')`);
    this.addSql(`CREATE TRIGGER search_index AFTER INSERT OR DELETE OR UPDATE OF shipment_id, dangerous_good_id, technical_name ON consignment_items
      FOR EACH ROW EXECUTE FUNCTION search_index_trigger('search_index_shipment', 'shipment_id')`);
    this.addSql(`CREATE TRIGGER search_index AFTER INSERT OR DELETE OR UPDATE OF registration, vehicle_type, status, company_id ON vehicles
      FOR EACH ROW EXECUTE FUNCTION search_index_trigger('search_index_vehicle', 'id')`);
    this.addSql(`CREATE TRIGGER search_index AFTER INSERT OR DELETE OR UPDATE OF full_name, dg_licence_number, dg_licence_class, company_id ON drivers
      FOR EACH ROW EXECUTE FUNCTION search_index_trigger('search_index_driver', 'id')`);
    // The sync rewrites every row on each run: only a change of what is indexed reaches the index.
    this.addSql(`CREATE TRIGGER search_index AFTER INSERT OR DELETE ON dangerous_goods
      FOR EACH ROW EXECUTE FUNCTION search_index_trigger('search_index_dangerous_good', 'id')`);
    this.addSql(`CREATE TRIGGER search_index_update AFTER UPDATE ON dangerous_goods FOR EACH ROW
      WHEN ((OLD.un_number, OLD.proper_shipping_name, OLD.hazard_class, OLD.hazard_class_raw, OLD.packing_group, OLD.subsidiary_risks, OLD.withdrawn_at IS NULL)
            IS DISTINCT FROM (NEW.un_number, NEW.proper_shipping_name, NEW.hazard_class, NEW.hazard_class_raw, NEW.packing_group, NEW.subsidiary_risks, NEW.withdrawn_at IS NULL))
      EXECUTE FUNCTION search_index_trigger('search_index_dangerous_good', 'id')`);

    // Reads. Row-level security lets the planner use an index only through leakproof operators, and
    // @@ (full text) and % (trigram) are not: under the app role every search would read the whole
    // table. So the matching runs with the owner's rights, the tenant condition written out — the
    // policy's own: the catalogue and the company of the transaction (current_company_id(), as the
    // app sets it for RLS), only the catalogue when none is set. The rows a search answers with are
    // then read through row-level security by their primary key (db/search.ts), a second check.
    //
    // A word on most of a company's rows ("VIC", a status) matches tens of thousands: ranking and
    // counting them all cannot be quick. So a search ranks a bounded set of candidates: every
    // catalogue match (a few thousand rows at most, its own partial GIN index), the company's
    // `p_cap` newest matches, and the titles equal to or starting with what was typed, however many
    // others match. `capped` says the company had more: counts are then of the candidates.
    //
    // The newest matches are found the cheaper of two ways, decided by reading, not by the planner
    // (it counts a full-text test as nearly free, and its estimates for phrases and prefixes are
    // guesses: walking a recency index for a word that turns out rare reads the whole company).
    // First the company's latest `3 × p_cap` rows (the recency index): a common word has its
    // `p_cap` newest matches there. Otherwise the GIN index alone, at most `5 × p_cap` matches: for a
    // rare word all of them, sorted by age. Each way is a function of its own, allowed only its own
    // kind of scan, and reads a bounded number of rows whatever the words. The rows picked are then read by primary key (nested loops only: with a
    // join estimate off, a hash join would read the whole table for a hundred rows).
    this.addSql(`
      CREATE FUNCTION search_matches_by_index(p_company uuid, p_query tsquery, p_types text[], p_class text, p_limit int)
      RETURNS TABLE (doc_type text, doc_id uuid, updated_at timestamptz)
      LANGUAGE sql STABLE SET search_path = public SET enable_seqscan = off SET enable_indexscan = off AS
      $$ SELECT d.doc_type, d.doc_id, d.updated_at FROM search_documents d
          WHERE d.company_id = p_company AND d.tsv @@ p_query
            AND (p_types IS NULL OR d.doc_type = ANY(p_types))
            AND (p_class IS NULL OR p_class = ANY(d.classes) OR p_class = ANY(d.class_groups))
          LIMIT p_limit $$`);
    this.addSql(`
      CREATE FUNCTION search_matches_newest(p_company uuid, p_query tsquery, p_types text[], p_class text, p_limit int, p_scan int)
      RETURNS TABLE (doc_type text, doc_id uuid, updated_at timestamptz)
      LANGUAGE sql STABLE SET search_path = public SET enable_seqscan = off SET enable_bitmapscan = off AS
      $$ SELECT d.doc_type, d.doc_id, d.updated_at
           FROM (SELECT * FROM search_documents r WHERE r.company_id = p_company ORDER BY r.updated_at DESC LIMIT p_scan) d
          WHERE d.tsv @@ p_query
            AND (p_types IS NULL OR d.doc_type = ANY(p_types))
            AND (p_class IS NULL OR p_class = ANY(d.classes) OR p_class = ANY(d.class_groups))
          ORDER BY d.updated_at DESC LIMIT p_limit $$`);
    this.addSql(`
      CREATE FUNCTION search_candidates(p_query tsquery, p_types text[], p_class text, p_titles text[], p_cap int)
      RETURNS TABLE (doc_type text, doc_id uuid, un_numbers text[], class_groups text[], title_key text, rank real, updated_at timestamptz, capped boolean)
      LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public SET enable_hashjoin = off SET enable_mergejoin = off AS
      $$ DECLARE
        company uuid := current_company_id();
        bound int := 5 * p_cap;
        own text[];
        own_ids uuid[];
        found int;
      BEGIN
        -- A common word has enough matches among the company's latest rows: nothing more to read.
        SELECT array_agg(m.doc_type ORDER BY m.updated_at DESC), array_agg(m.doc_id ORDER BY m.updated_at DESC), count(*)
          INTO own, own_ids, found
          FROM search_matches_newest(company, p_query, p_types, p_class, p_cap + 1, 3 * p_cap) m;
        IF found <= p_cap THEN
          -- Otherwise the GIN index, at most bound matches: all of a rare word's, sorted by age; of one that is
          -- neither, bound of them, after the newest found above.
          SELECT CASE WHEN count(*) < bound THEN '{}' ELSE coalesce(own, '{}') END || coalesce(array_agg(m.doc_type ORDER BY m.updated_at DESC), '{}'),
                 CASE WHEN count(*) < bound THEN '{}' ELSE coalesce(own_ids, '{}') END || coalesce(array_agg(m.doc_id ORDER BY m.updated_at DESC), '{}'),
                 count(*)
            INTO own, own_ids, found
            FROM search_matches_by_index(company, p_query, p_types, p_class, bound) m;
        END IF;
        RETURN QUERY
          WITH picked AS (
            SELECT d.doc_type, d.doc_id FROM search_documents d
             WHERE d.company_id IS NULL AND d.tsv @@ p_query
               AND (p_types IS NULL OR d.doc_type = ANY(p_types))
               AND (p_class IS NULL OR p_class = ANY(d.classes) OR p_class = ANY(d.class_groups))
            UNION SELECT o.doc_type, o.doc_id FROM unnest(coalesce(own[1:p_cap], '{}'), coalesce(own_ids[1:p_cap], '{}')) o(doc_type, doc_id)
            UNION SELECT t.doc_type, t.doc_id FROM unnest(p_titles) typed(title)
             CROSS JOIN LATERAL (
               SELECT d.doc_type, d.doc_id FROM search_documents d
                WHERE d.company_id = company AND d.title_key >= typed.title AND d.title_key < typed.title || chr(1114111)
                  AND d.tsv @@ p_query
                  AND (p_types IS NULL OR d.doc_type = ANY(p_types))
                  AND (p_class IS NULL OR p_class = ANY(d.classes) OR p_class = ANY(d.class_groups))
                ORDER BY d.title_key LIMIT p_cap) t)
          SELECT d.doc_type, d.doc_id, d.un_numbers, d.class_groups, d.title_key::text, ts_rank_cd(d.tsv, p_query, 1), d.updated_at, found > p_cap
            FROM picked p JOIN search_documents d ON d.doc_type = p.doc_type AND d.doc_id = p.doc_id;
      END $$`);
    this.addSql(`
      CREATE FUNCTION search_similar_terms(p_words text[])
      RETURNS TABLE (word text, term text)
      LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public AS
      $$ BEGIN
        RETURN QUERY
          SELECT w.word, t.term::text
            FROM unnest(p_words) AS w(word)
            CROSS JOIN LATERAL (
              SELECT st.term FROM search_terms st
               WHERE st.term % w.word AND (st.company_id IS NULL OR st.company_id = current_company_id())
               ORDER BY similarity(st.term, w.word) DESC, st.term
               LIMIT 12) t;
      END $$`);
    this.addSql('REVOKE ALL ON FUNCTION search_matches_by_index(uuid, tsquery, text[], text, int), search_matches_newest(uuid, tsquery, text[], text, int, int) FROM PUBLIC');
    this.addSql('REVOKE ALL ON FUNCTION search_candidates(tsquery, text[], text, text[], int), search_similar_terms(text[]) FROM PUBLIC');
    this.addSql('GRANT EXECUTE ON FUNCTION search_candidates(tsquery, text[], text, text[], int), search_similar_terms(text[]) TO safeshipper_app');

    // The external engine's side, for the worker (the app role): across companies, so owner's rights,
    // and nothing but what a mirror needs.
    this.addSql(`
      CREATE FUNCTION search_sync_enable(p_engine text) RETURNS boolean LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS
      $$ DECLARE
        previous text;
      BEGIN
        SELECT external_engine INTO previous FROM search_sync FOR UPDATE;
        IF previous IS NOT DISTINCT FROM p_engine THEN RETURN false; END IF;
        UPDATE search_sync SET external_engine = p_engine, enabled_at = now();
        RETURN true;
      END $$`);
    this.addSql(`
      CREATE FUNCTION search_sync_disable() RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS
      $$ BEGIN
        UPDATE search_sync SET external_engine = NULL, enabled_at = NULL WHERE external_engine IS NOT NULL;
        IF FOUND THEN DELETE FROM search_outbox; END IF;
      END $$`);
    this.addSql(`
      CREATE FUNCTION search_outbox_take(p_limit int)
      RETURNS TABLE (outbox_id bigint, doc_type text, doc_id uuid, present boolean, company_id uuid, title text, fields jsonb,
                     un_numbers text[], classes text[], status text, updated_at timestamptz)
      LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS
      $$ SELECT o.id, o.doc_type, o.doc_id, d.doc_id IS NOT NULL, d.company_id, d.title, d.fields, d.un_numbers, d.classes, d.status, d.updated_at
           FROM (SELECT * FROM search_outbox ORDER BY id LIMIT p_limit) o
           LEFT JOIN search_documents d ON d.doc_type = o.doc_type AND d.doc_id = o.doc_id
          ORDER BY o.id $$`);
    this.addSql(`
      CREATE FUNCTION search_outbox_ack(p_ids bigint[]) RETURNS void LANGUAGE sql SECURITY DEFINER SET search_path = public AS
      $$ DELETE FROM search_outbox WHERE id = ANY(p_ids) $$`);
    this.addSql(`
      CREATE FUNCTION search_documents_export(p_after_type text, p_after_id uuid, p_limit int)
      RETURNS TABLE (doc_type text, doc_id uuid, company_id uuid, title text, fields jsonb, un_numbers text[], classes text[], status text, updated_at timestamptz)
      LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS
      $$ SELECT doc_type, doc_id, company_id, title, fields, un_numbers, classes, status, updated_at FROM search_documents
          WHERE (doc_type, doc_id) > (coalesce(p_after_type, ''), coalesce(p_after_id, '00000000-0000-0000-0000-000000000000'::uuid))
          ORDER BY doc_type, doc_id LIMIT p_limit $$`);
    for (const fn of ['search_sync_enable(text)', 'search_sync_disable()', 'search_outbox_take(int)', 'search_outbox_ack(bigint[])', 'search_documents_export(text, uuid, int)']) {
      this.addSql(`REVOKE ALL ON FUNCTION ${fn} FROM PUBLIC`);
      this.addSql(`GRANT EXECUTE ON FUNCTION ${fn} TO safeshipper_app`);
    }
    for (const fn of ['search_index_shipment(uuid)', 'search_index_vehicle(uuid)', 'search_index_driver(uuid)', 'search_index_dangerous_good(uuid)']) {
      this.addSql(`REVOKE ALL ON FUNCTION ${fn} FROM PUBLIC`);
    }

    // What exists already is indexed now; from here on the triggers keep it.
    this.addSql('SELECT search_index_dangerous_good(id) FROM dangerous_goods WHERE withdrawn_at IS NULL');
    this.addSql('SELECT search_index_shipment(id) FROM shipments');
    this.addSql('SELECT search_index_vehicle(id) FROM vehicles');
    this.addSql('SELECT search_index_driver(id) FROM drivers');
  }
}
