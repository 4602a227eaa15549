-- Patients move into the FHIR store (fhir_resources). The old rows are kept under another name
-- until the cloud, right after migrating, has written each as a Patient with its search index
-- (src/patients/legacy-patients.ts), which then drops this table.
ALTER TABLE "patients" RENAME TO "legacy_patients";
