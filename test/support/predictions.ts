/** One record of a binary model's POST /predict answer. */
export interface BinaryPrediction {
  probability: number;
  decision: string;
  base_value: number;
  shap: Record<string, number>;
  imputed: string[];
  reasons: { feature: string; value: unknown; contribution: number; text: string }[];
}

/** The sum of a record's SHAP values. */
export const sumShap = (values: Record<string, number>): number => Object.values(values).reduce((a, b) => a + b, 0);
