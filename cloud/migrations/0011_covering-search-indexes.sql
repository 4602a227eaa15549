DROP INDEX "fhir_idx_date_res";--> statement-breakpoint
DROP INDEX "fhir_idx_number_res";--> statement-breakpoint
DROP INDEX "fhir_idx_quantity_res";--> statement-breakpoint
DROP INDEX "fhir_idx_reference_res";--> statement-breakpoint
DROP INDEX "fhir_idx_string_res";--> statement-breakpoint
DROP INDEX "fhir_idx_token_res";--> statement-breakpoint
DROP INDEX "fhir_idx_uri_res";--> statement-breakpoint
CREATE INDEX "fhir_resources_live" ON "fhir_resources" USING btree ("resource_type","id") WHERE not deleted;--> statement-breakpoint
CREATE INDEX "fhir_idx_date_res" ON "fhir_idx_date" USING btree ("resource_type","id","param","start","end");--> statement-breakpoint
CREATE INDEX "fhir_idx_number_res" ON "fhir_idx_number" USING btree ("resource_type","id","param","value");--> statement-breakpoint
CREATE INDEX "fhir_idx_quantity_res" ON "fhir_idx_quantity" USING btree ("resource_type","id","param","value");--> statement-breakpoint
CREATE INDEX "fhir_idx_reference_res" ON "fhir_idx_reference" USING btree ("resource_type","id","param","target_id","target_type");--> statement-breakpoint
CREATE INDEX "fhir_idx_string_res" ON "fhir_idx_string" USING btree ("resource_type","id","param","normalized");--> statement-breakpoint
CREATE INDEX "fhir_idx_token_res" ON "fhir_idx_token" USING btree ("resource_type","id","param","code","system");--> statement-breakpoint
CREATE INDEX "fhir_idx_uri_res" ON "fhir_idx_uri" USING btree ("resource_type","id","param","uri");