// The shape of a Kubernetes custom object as the model keeps it. It lives in model/ (not
// controller/) because snapshots carry the routing CRD objects and model/ must not import controller/.

/** A routing CRD object as stored: spec is validated later, by model/routing. */
export interface CustomObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; generation?: number; resourceVersion?: string; uid?: string;
    /** RFC 3339. Informers may hand over a Date instead; model/routing-parse accepts both. */
    creationTimestamp?: string;
    labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: unknown;
  status?: unknown;
}
