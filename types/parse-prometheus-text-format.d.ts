// Types of parse-prometheus-text-format (it ships none), for the tests that read /metrics output;
// each package's tsconfig includes this folder.
declare module "parse-prometheus-text-format" {
  interface Sample {
    value?: string;
    labels?: Record<string, string>;
    buckets?: Record<string, string>;
    count?: string;
    sum?: string;
  }
  interface Family {
    name: string;
    help: string;
    type: string;
    metrics: Sample[];
  }
  export default function parse(text: string): Family[];
}
