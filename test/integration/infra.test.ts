// The test infrastructure itself: the moto server answers with versioning on, and the
// real quilt3 client runs from the venv and talks to it.
import { describe, expect, it } from "vitest";
import { runQuilt3Json } from "../helpers/quilt3.js";
import { s3TestEnv } from "../helpers/s3.js";

describe("test infrastructure", () => {
  it("runs quilt3 against the moto server with a versioned bucket", async () => {
    const { bucket, env } = s3TestEnv();
    const out = await runQuilt3Json<{ version: string; status: string }>(
      `import boto3, quilt3
s3 = boto3.client("s3")
v = s3.get_bucket_versioning(Bucket=ARGS["bucket"])
print(json.dumps({"version": quilt3.__version__ if hasattr(quilt3, "__version__") else "?", "status": v.get("Status")}))`,
      { bucket },
      { env },
    );
    expect(out.status).toBe("Enabled");
  });
});
