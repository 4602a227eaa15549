-- One version of a FHIR resource written in one call: the current row (inserted when p_new, else
-- replaced), its history row and its search index rows (p_index: the IndexRows of
-- src/fhir/search/extract.ts as JSON, one array per table). PL/pgSQL keeps the plans of these
-- statements for the session, so a write costs one short statement to parse instead of a large
-- one. Returns false, writing nothing, when p_new finds the id taken or a replace finds no row.
CREATE OR REPLACE FUNCTION fhir_write(
  p_type text, p_id text, p_version integer, p_last_updated bigint, p_deleted boolean,
  p_method text, p_content jsonb, p_index jsonb, p_new boolean
) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  IF p_new THEN
    INSERT INTO fhir_resources (resource_type, id, version_id, last_updated, deleted, content)
      VALUES (p_type, p_id, p_version, p_last_updated, p_deleted, p_content)
      ON CONFLICT DO NOTHING;
    IF NOT FOUND THEN RETURN false; END IF;
  ELSE
    UPDATE fhir_resources SET version_id = p_version, last_updated = p_last_updated,
        deleted = p_deleted, content = p_content
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
  INSERT INTO fhir_idx_token (resource_type, id, param, system, code, text)
    SELECT p_type, p_id, x.param, x.system, x.code, x.text
    FROM jsonb_to_recordset(p_index -> 'token') AS x(param text, system text, code text, text text);
  INSERT INTO fhir_idx_string (resource_type, id, param, normalized, exact)
    SELECT p_type, p_id, x.param, x.normalized, x.exact
    FROM jsonb_to_recordset(p_index -> 'string') AS x(param text, normalized text, exact text);
  INSERT INTO fhir_idx_date (resource_type, id, param, start, "end")
    SELECT p_type, p_id, x.param, x.start, x."end"
    FROM jsonb_to_recordset(p_index -> 'date') AS x(param text, start bigint, "end" bigint);
  INSERT INTO fhir_idx_reference (resource_type, id, param, target_type, target_id, url)
    SELECT p_type, p_id, x.param, x."targetType", x."targetId", x.url
    FROM jsonb_to_recordset(p_index -> 'reference')
      AS x(param text, "targetType" text, "targetId" text, url text);
  INSERT INTO fhir_idx_quantity (resource_type, id, param, value, system, code, unit)
    SELECT p_type, p_id, x.param, x.value, x.system, x.code, x.unit
    FROM jsonb_to_recordset(p_index -> 'quantity')
      AS x(param text, value float8, system text, code text, unit text);
  INSERT INTO fhir_idx_number (resource_type, id, param, value)
    SELECT p_type, p_id, x.param, x.value
    FROM jsonb_to_recordset(p_index -> 'number') AS x(param text, value float8);
  INSERT INTO fhir_idx_uri (resource_type, id, param, uri)
    SELECT p_type, p_id, x.param, x.uri
    FROM jsonb_to_recordset(p_index -> 'uri') AS x(param text, uri text);
  RETURN true;
END
$$;
