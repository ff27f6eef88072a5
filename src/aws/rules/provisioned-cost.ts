import type { Architecture } from '../../lambda/facts.js';

/**
 * Lambda's list price for provisioned concurrency in us-east-1 (USD per GB-second configured), the
 * reference the estimate uses; other regions differ by a few per cent to about a third.
 */
const PROVISIONED_PRICE_PER_GB_SECOND: Record<Architecture, number> = {
  x86_64: 0.0000041667,
  arm64: 0.0000033334,
};

const SECONDS_PER_MONTH = 730 * 3600;

/** What keeping `instances` initialised costs a month, before any request is served. */
function provisionedMonthlyCost(instances: number, memoryMb: number, architecture: Architecture): number {
  return instances * (memoryMb / 1024) * SECONDS_PER_MONTH * PROVISIONED_PRICE_PER_GB_SECOND[architecture];
}

/** The deploy output's sentence about it, saying it is an estimate and on which price. */
export function provisionedCostLine(instances: number, memoryMb: number, architecture: Architecture, region: string): string {
  const monthly = provisionedMonthlyCost(instances, memoryMb, architecture);
  const price = PROVISIONED_PRICE_PER_GB_SECOND[architecture];
  const where = region === 'us-east-1' ? 'us-east-1' : `us-east-1 (not ${region}'s own)`;
  return `provisioned concurrency: ${instances} x ${memoryMb} MB costs about $${monthly.toFixed(2)} a month while configured ` +
    `(an estimate at the ${where} list price for ${architecture}, $${price} per GB-second; requests and duration are billed on top)`;
}
