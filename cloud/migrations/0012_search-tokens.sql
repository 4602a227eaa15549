ALTER TABLE "fhir_resources" ADD COLUMN "search_tokens" bigint[] DEFAULT '{}'::bigint[] NOT NULL;--> statement-breakpoint
CREATE INDEX "fhir_resources_search_tokens" ON "fhir_resources" USING gin ("search_tokens");--> statement-breakpoint
-- The search tokens of a resource from its index rows (the IndexRows JSON fhir_write takes):
-- one hash per exact token (system and code; no system; any system) and per reference (Type/id;
-- id of any type; absolute URL). src/fhir/search/search-tokens.ts builds the same keys for a
-- search. chr(1) separates the parts: no FHIR string holds it.
CREATE OR REPLACE FUNCTION fhir_search_tokens(p_index jsonb) RETURNS bigint[]
LANGUAGE sql IMMUTABLE AS $$
  SELECT coalesce(array_agg(DISTINCT hashtextextended(k, 0)), '{}'::bigint[]) FROM (
    SELECT 't' || chr(1) || x.param || chr(1) ||
           CASE WHEN x.system IS NULL THEN 'N' ELSE 'S' || chr(1) || x.system END ||
           chr(1) || x.code AS k
      FROM jsonb_to_recordset(coalesce(p_index -> 'token', '[]'::jsonb))
        AS x(param text, system text, code text)
      WHERE x.code IS NOT NULL
    UNION ALL
    SELECT 't' || chr(1) || x.param || chr(1) || 'A' || chr(1) || x.code
      FROM jsonb_to_recordset(coalesce(p_index -> 'token', '[]'::jsonb))
        AS x(param text, system text, code text)
      WHERE x.code IS NOT NULL
    UNION ALL
    SELECT 'r' || chr(1) || x.param || chr(1) || 'T' || chr(1) || x."targetType" || '/' || x."targetId"
      FROM jsonb_to_recordset(coalesce(p_index -> 'reference', '[]'::jsonb))
        AS x(param text, "targetType" text, "targetId" text, url text)
      WHERE x."targetId" IS NOT NULL
    UNION ALL
    SELECT 'r' || chr(1) || x.param || chr(1) || 'I' || chr(1) || x."targetId"
      FROM jsonb_to_recordset(coalesce(p_index -> 'reference', '[]'::jsonb))
        AS x(param text, "targetType" text, "targetId" text, url text)
      WHERE x."targetId" IS NOT NULL
    UNION ALL
    SELECT 'r' || chr(1) || x.param || chr(1) || 'U' || chr(1) || x.url
      FROM jsonb_to_recordset(coalesce(p_index -> 'reference', '[]'::jsonb))
        AS x(param text, "targetType" text, "targetId" text, url text)
      WHERE x.url IS NOT NULL
  ) keys
$$;
--> statement-breakpoint
-- fhir_write (migration 0009) now also sets the search tokens, and skips the index tables the
-- resource has no rows for (the caller leaves those kinds out of p_index).
CREATE OR REPLACE FUNCTION fhir_write(
  p_type text, p_id text, p_version integer, p_last_updated bigint, p_deleted boolean,
  p_method text, p_content jsonb, p_index jsonb, p_new boolean
) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
  tokens bigint[] := CASE WHEN p_index IS NULL THEN '{}'::bigint[] ELSE fhir_search_tokens(p_index) END;
BEGIN
  IF p_new THEN
    INSERT INTO fhir_resources (resource_type, id, version_id, last_updated, deleted, content, search_tokens)
      VALUES (p_type, p_id, p_version, p_last_updated, p_deleted, p_content, tokens)
      ON CONFLICT DO NOTHING;
    IF NOT FOUND THEN RETURN false; END IF;
  ELSE
    UPDATE fhir_resources SET version_id = p_version, last_updated = p_last_updated,
        deleted = p_deleted, content = p_content, search_tokens = tokens
      WHERE resource_type = p_type AND id = p_id;
    IF NOT FOUND THEN RETURN false; END IF;
    DELETE FROM fhir_idx_token WHERE resource_type = p_type AND id = p_id;
    DELETE FROM fhir_idx_string WHERE resource_type = p_type AND id = p_id;
    DELETE FROM fhir_idx_date WHERE resource_type = p_type AND id = p_id;
    DELETE FROM fhir_idx_reference WHERE resource_type = p_type AND id = p_id;
    DELETE FROM fhir_idx_quantity WHERE resource_type = p_type AND id = p_id;
    DELETE FROM fhir_idx_number WHERE resource_type = p_type AND id = p_id;
    DELETE FROM fhir_idx_uri WHERE resource_type = p_type AND id = p_id;
  END IF;
  INSERT INTO fhir_history (resource_type, id, version_id, last_updated, deleted, method, content)
    VALUES (p_type, p_id, p_version, p_last_updated, p_deleted, p_method, p_content);
  IF p_index IS NULL THEN RETURN true; END IF;
  IF p_index ? 'token' THEN
    INSERT INTO fhir_idx_token (resource_type, id, param, system, code, text)
      SELECT p_type, p_id, x.param, x.system, x.code, x.text
      FROM jsonb_to_recordset(p_index -> 'token') AS x(param text, system text, code text, text text);
  END IF;
  IF p_index ? 'string' THEN
    INSERT INTO fhir_idx_string (resource_type, id, param, normalized, exact)
      SELECT p_type, p_id, x.param, x.normalized, x.exact
      FROM jsonb_to_recordset(p_index -> 'string') AS x(param text, normalized text, exact text);
  END IF;
  IF p_index ? 'date' THEN
    INSERT INTO fhir_idx_date (resource_type, id, param, start, "end")
      SELECT p_type, p_id, x.param, x.start, x."end"
      FROM jsonb_to_recordset(p_index -> 'date') AS x(param text, start bigint, "end" bigint);
  END IF;
  IF p_index ? 'reference' THEN
    INSERT INTO fhir_idx_reference (resource_type, id, param, target_type, target_id, url)
      SELECT p_type, p_id, x.param, x."targetType", x."targetId", x.url
      FROM jsonb_to_recordset(p_index -> 'reference')
        AS x(param text, "targetType" text, "targetId" text, url text);
  END IF;
  IF p_index ? 'quantity' THEN
    INSERT INTO fhir_idx_quantity (resource_type, id, param, value, system, code, unit)
      SELECT p_type, p_id, x.param, x.value, x.system, x.code, x.unit
      FROM jsonb_to_recordset(p_index -> 'quantity')
        AS x(param text, value float8, system text, code text, unit text);
  END IF;
  IF p_index ? 'number' THEN
    INSERT INTO fhir_idx_number (resource_type, id, param, value)
      SELECT p_type, p_id, x.param, x.value
      FROM jsonb_to_recordset(p_index -> 'number') AS x(param text, value float8);
  END IF;
  IF p_index ? 'uri' THEN
    INSERT INTO fhir_idx_uri (resource_type, id, param, uri)
      SELECT p_type, p_id, x.param, x.uri
      FROM jsonb_to_recordset(p_index -> 'uri') AS x(param text, uri text);
  END IF;
  RETURN true;
END
$$;
--> statement-breakpoint
-- Resources stored before: their tokens from the index rows they have.
UPDATE fhir_resources r SET search_tokens = fhir_search_tokens(jsonb_build_object(
  'token', (SELECT coalesce(jsonb_agg(jsonb_build_object('param', t.param, 'system', t.system, 'code', t.code)), '[]'::jsonb)
            FROM fhir_idx_token t WHERE t.resource_type = r.resource_type AND t.id = r.id),
  'reference', (SELECT coalesce(jsonb_agg(jsonb_build_object('param', x.param, 'targetType', x.target_type, 'targetId', x.target_id, 'url', x.url)), '[]'::jsonb)
            FROM fhir_idx_reference x WHERE x.resource_type = r.resource_type AND x.id = r.id)))
WHERE NOT r.deleted;
