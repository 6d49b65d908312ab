import { Migration } from '@mikro-orm/migrations';

/**
 * Documents (their bytes live in the document store, documents/), the findings of manifest
 * processing, and the safety data sheet library. Tenant tables like the others (company_id, RLS,
 * the app role's grants). The value lists are written out, not imported from domain/: a migration
 * keeps what it meant when it ran.
 *
 * A document is attached to at most one shipment, vehicle, inspection or incident (typed columns,
 * each a foreign key; the API checks the target is in the caller's company, which a foreign key
 * alone would not). An attached row that goes away leaves the document, unattached. The same
 * bytes are stored once per company: (company_id, sha256) is unique.
 *
 * Search (search/README.md): documents (title, file name, kind, extracted text, the UN numbers
 * processing found) and SDS (product, supplier, UN numbers) reach `search_documents` through the
 * same trigger path as shipments and vehicles.
 */
export class Migration20261201050000Documents extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      CREATE TABLE documents (
        id uuid PRIMARY KEY,
        company_id uuid NOT NULL REFERENCES companies(id),
        kind text NOT NULL CHECK (kind IN ('SDS', 'DG_DECLARATION', 'MANIFEST', 'PROOF_OF_DELIVERY', 'INSPECTION_PHOTO')),
        title text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
        original_name text NOT NULL CHECK (length(original_name) BETWEEN 1 AND 200),
        media_type text NOT NULL CHECK (media_type IN ('application/pdf', 'image/png', 'image/jpeg', 'image/tiff', 'image/webp')),
        size_bytes bigint NOT NULL CHECK (size_bytes > 0),
        sha256 text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
        storage_key text NOT NULL UNIQUE,
        shipment_id uuid REFERENCES shipments(id) ON DELETE SET NULL,
        vehicle_id uuid REFERENCES vehicles(id) ON DELETE SET NULL,
        inspection_id uuid REFERENCES inspections(id) ON DELETE SET NULL,
        incident_id uuid REFERENCES incidents(id) ON DELETE SET NULL,
        uploaded_by_subject text NOT NULL,
        uploaded_by_username text,
        processing_status text CHECK (processing_status IN ('PENDING', 'COMPLETED', 'UNREADABLE')),
        processed_at timestamptz,
        extracted_text text,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (company_id, sha256),
        CHECK (num_nonnulls(shipment_id, vehicle_id, inspection_id, incident_id) <= 1)
      )`);
    this.addSql('CREATE INDEX documents_company_created_idx ON documents (company_id, created_at DESC, id DESC)');
    for (const column of ['shipment_id', 'vehicle_id', 'inspection_id', 'incident_id']) {
      this.addSql(`CREATE INDEX documents_${column}_idx ON documents (${column}, created_at DESC, id DESC) WHERE ${column} IS NOT NULL`);
    }

    // One processing's findings, in the order found; written again as a whole when a document is processed again.
    this.addSql(`
      CREATE TABLE manifest_findings (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        company_id uuid NOT NULL REFERENCES companies(id),
        document_id uuid NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
        shipment_id uuid REFERENCES shipments(id) ON DELETE CASCADE,
        position int NOT NULL CHECK (position >= 0),
        kind text NOT NULL CHECK (kind IN ('MATCHED', 'MISMATCHED', 'MISSING', 'UNKNOWN', 'NEEDS_OCR', 'UNREADABLE')),
        un_number text CHECK (un_number ~ '^(UN|NA|ID)[0-9]{4}$'),
        proper_shipping_name text CHECK (length(proper_shipping_name) <= 500),
        hazard_class text CHECK (length(hazard_class) <= 10),
        packing_group text CHECK (packing_group IN ('I', 'II', 'III')),
        quantity numeric,
        unit text CHECK (unit IN ('kg', 'L')),
        page int CHECK (page >= 1),
        detail text NOT NULL CHECK (length(detail) <= 2000),
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (document_id, position)
      )`);
    this.addSql('CREATE INDEX manifest_findings_shipment_idx ON manifest_findings (shipment_id, document_id, position) WHERE shipment_id IS NOT NULL');

    // Revisions of a product's SDS; which one is current (the newest) and which are past their
    // five-year review are rules of domain/sds.ts, decided when read (they change with the date).
    this.addSql(`
      CREATE TABLE sds (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        company_id uuid NOT NULL REFERENCES companies(id),
        document_id uuid NOT NULL UNIQUE REFERENCES documents(id) ON DELETE CASCADE,
        product text NOT NULL CHECK (length(product) BETWEEN 1 AND 200),
        product_key text NOT NULL CHECK (length(product_key) BETWEEN 1 AND 200),
        supplier text NOT NULL CHECK (length(supplier) BETWEEN 1 AND 200),
        revision_date date NOT NULL,
        un_numbers text[] NOT NULL CHECK (cardinality(un_numbers) BETWEEN 1 AND 50),
        created_by_subject text NOT NULL,
        created_by_username text,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    this.addSql('CREATE INDEX sds_company_product_idx ON sds (company_id, product_key, revision_date DESC, created_at DESC)');
    this.addSql('CREATE INDEX sds_un_numbers_idx ON sds USING gin (un_numbers)');

    for (const table of ['documents', 'manifest_findings', 'sds']) {
      this.addSql(`ALTER TABLE ${table} ENABLE ROW LEVEL SECURITY`);
      this.addSql(`CREATE POLICY tenant_isolation ON ${table} USING (company_id = current_company_id()) WITH CHECK (company_id = current_company_id())`);
      this.addSql(`GRANT SELECT, INSERT, UPDATE, DELETE ON ${table} TO safeshipper_app`);
    }

    this.addSql(`
      CREATE FUNCTION search_index_document(p_id uuid) RETURNS void LANGUAGE plpgsql SET search_path = public AS
      $$ DECLARE
        d record;
      BEGIN
        SELECT doc.id, doc.company_id, doc.title, doc.original_name, doc.kind, doc.extracted_text, doc.processing_status,
               coalesce((SELECT array_agg(DISTINCT f.un_number) FROM manifest_findings f WHERE f.document_id = doc.id AND f.un_number IS NOT NULL AND f.kind <> 'MISSING'), '{}') AS un_numbers,
               (SELECT string_agg(DISTINCT s.product, '; ') FROM sds s WHERE s.document_id = doc.id) AS product
          INTO d FROM documents doc WHERE doc.id = p_id;
        IF NOT FOUND THEN
          PERFORM search_index_remove('document', p_id);
        ELSE
          PERFORM search_index_put('document', d.id, d.company_id, d.title,
            jsonb_build_object('kind', d.kind, 'fileName', d.original_name, 'product', d.product, 'text', d.extracted_text),
            d.un_numbers, '{}', d.processing_status);
        END IF;
      END $$`);
    this.addSql(`
      CREATE FUNCTION search_index_sds(p_id uuid) RETURNS void LANGUAGE plpgsql SET search_path = public AS
      $$ DECLARE
        s record;
      BEGIN
        SELECT * INTO s FROM sds WHERE id = p_id;
        IF NOT FOUND THEN
          PERFORM search_index_remove('sds', p_id);
        ELSE
          PERFORM search_index_put('sds', s.id, s.company_id, s.product,
            jsonb_build_object('supplier', s.supplier, 'revisionDate', to_char(s.revision_date, 'YYYY-MM-DD'), 'documentId', s.document_id::text),
            s.un_numbers, '{}', NULL);
        END IF;
      END $$`);
    this.addSql(`CREATE TRIGGER search_index AFTER INSERT OR DELETE OR UPDATE OF title, original_name, kind, extracted_text, processing_status, company_id ON documents
      FOR EACH ROW EXECUTE FUNCTION search_index_trigger('search_index_document', 'id')`);
    // The UN numbers processing found reach the document's entry with its processing status, written
    // after them in the same transaction (once, not per finding); an SDS's product through this trigger.
    this.addSql(`CREATE TRIGGER search_index AFTER INSERT OR DELETE OR UPDATE ON sds
      FOR EACH ROW EXECUTE FUNCTION search_index_trigger('search_index_sds', 'id')`);
    this.addSql(`CREATE TRIGGER search_index_document AFTER INSERT OR DELETE OR UPDATE OF product, document_id ON sds
      FOR EACH ROW EXECUTE FUNCTION search_index_trigger('search_index_document', 'document_id')`);
    for (const fn of ['search_index_document(uuid)', 'search_index_sds(uuid)']) this.addSql(`REVOKE ALL ON FUNCTION ${fn} FROM PUBLIC`);
  }
}
