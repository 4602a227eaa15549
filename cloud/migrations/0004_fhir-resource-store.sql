CREATE TABLE "fhir_history" (
	"resource_type" text NOT NULL,
	"id" text NOT NULL,
	"version_id" integer NOT NULL,
	"last_updated" bigint NOT NULL,
	"deleted" boolean NOT NULL,
	"method" text NOT NULL,
	"content" jsonb,
	CONSTRAINT "fhir_history_resource_type_id_version_id_pk" PRIMARY KEY("resource_type","id","version_id")
);
--> statement-breakpoint
CREATE TABLE "fhir_resources" (
	"resource_type" text NOT NULL,
	"id" text NOT NULL,
	"version_id" integer NOT NULL,
	"last_updated" bigint NOT NULL,
	"deleted" boolean NOT NULL,
	"content" jsonb,
	CONSTRAINT "fhir_resources_resource_type_id_pk" PRIMARY KEY("resource_type","id")
);
--> statement-breakpoint
CREATE INDEX "fhir_history_type_updated" ON "fhir_history" USING btree ("resource_type","last_updated");--> statement-breakpoint
CREATE INDEX "fhir_resources_updated" ON "fhir_resources" USING btree ("resource_type","last_updated");