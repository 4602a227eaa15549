-- Many new resource versions in one call (creates that arrived together): fhir_write for each
-- item of p_items, an array of {type, id, version, lastUpdated, deleted, method, content, index},
-- with p_new. Returns one boolean per item, in order (false: the id was taken).
CREATE OR REPLACE FUNCTION fhir_write_many(p_items jsonb, p_new boolean)
RETURNS TABLE (ord bigint, written boolean) LANGUAGE plpgsql AS $$
DECLARE
  item jsonb;
  n bigint;
BEGIN
  FOR item, n IN SELECT value, ordinality FROM jsonb_array_elements(p_items) WITH ORDINALITY LOOP
    ord := n;
    written := fhir_write(item ->> 'type', item ->> 'id', (item ->> 'version')::integer,
      (item ->> 'lastUpdated')::bigint, (item ->> 'deleted')::boolean, item ->> 'method',
      nullif(item -> 'content', 'null'::jsonb), nullif(item -> 'index', 'null'::jsonb), p_new);
    RETURN NEXT;
  END LOOP;
END
$$;
