import { AwsError, invalidParameter } from './errors.js';
import { emptyResponse, jsonResponse, type ApiRequest, type ApiResponse, type RoutedCall, type StandInContext } from './context.js';
import {
  createFunction,
  deleteFunction,
  getFunction,
  getFunctionConfiguration,
  listFunctions,
  updateFunctionCode,
  updateFunctionConfiguration,
} from './lambda-functions.js';
import { functionArn, parseFunctionRef, requireFunction } from './lambda-settings.js';
import { createAlias, deleteAlias, getAlias, listAliases, listVersions, publishVersion, updateAlias } from './lambda-versions.js';
import { addPermission, getPolicy, removePermission } from './lambda-policy.js';
import { createUrlConfig, deleteUrlConfig, getUrlConfig, listUrlConfigs, updateUrlConfig } from './lambda-urls.js';
import {
  deleteLayerVersion,
  getLayerVersion,
  getLayerVersionByArn,
  listLayerVersions,
  listLayers,
  publishLayerVersion,
} from './lambda-layers.js';
import { DIRECT_ZIP_LIMIT, UNZIPPED_LIMIT } from './code.js';
import {
  deleteFunctionConcurrency,
  deleteProvisionedConcurrency,
  getFunctionConcurrency,
  getProvisionedConcurrency,
  putFunctionConcurrency,
  putProvisionedConcurrency,
  unreservedConcurrency,
} from './lambda-concurrency.js';

type Handler = (ctx: StandInContext, req: ApiRequest, params: string[]) => Promise<ApiResponse> | ApiResponse;

interface Route {
  method: string;
  /** Path segments; '*' captures one (percent-decoded) segment. */
  pattern: string[];
  action: string;
  /** Which captured parameter names the resource for AccessDenied messages. */
  resource: (ctx: StandInContext, params: string[], req: ApiRequest) => string;
  handler: Handler;
}

/** Parses the JSON body; a body that is not JSON is rejected as Lambda's front end does. */
function body<T>(req: ApiRequest): T {
  if (req.body.length === 0) return {} as T;
  try {
    return JSON.parse(req.body.toString('utf8')) as T;
  } catch {
    throw new AwsError('SerializationException', 'Could not parse request body into json.', 400);
  }
}

const fnResource = (ctx: StandInContext, params: string[]) => {
  const raw = params[0] ?? '';
  if (raw.startsWith('arn:')) return raw;
  if (raw.includes(':function:')) return `arn:aws:lambda:${ctx.state.region}:${raw}`;
  const [name = '', qualifier] = raw.split(':');
  return functionArn(ctx, name, qualifier);
};
const layerResource = (ctx: StandInContext, params: string[]) =>
  `arn:aws:lambda:${ctx.state.region}:${ctx.state.accountId}:layer:${params[0] ?? '*'}${params[1] ? `:${params[1]}` : ''}`;
const anyResource = () => '*';
const ref = (ctx: StandInContext, req: ApiRequest, params: string[]) =>
  parseFunctionRef(ctx, params[0] ?? '', req.query.get('Qualifier'));

function route(method: string, path: string, action: string, resource: Route['resource'], handler: Handler): Route {
  return { method, pattern: path.split('/').filter(Boolean), action, resource, handler };
}

const F = '/2015-03-31/functions';
const U = '/2021-10-31/functions';
const L = '/2018-10-31/layers';

const ROUTES: Route[] = [
  route('POST', F, 'CreateFunction', (ctx, _p, req) => functionArn(ctx, String(body<{ FunctionName?: string }>(req).FunctionName ?? '*')),
    (ctx, req) => createFunction(ctx, body(req))),
  route('GET', F, 'ListFunctions', anyResource, (ctx, req) => listFunctions(ctx, req.query.get('Marker'), req.query.get('MaxItems'))),
  route('GET', `${F}/*`, 'GetFunction', fnResource, (ctx, req, p) => getFunction(ctx, ref(ctx, req, p))),
  route('DELETE', `${F}/*`, 'DeleteFunction', fnResource, (ctx, req, p) => deleteFunction(ctx, ref(ctx, req, p))),
  route('GET', `${F}/*/configuration`, 'GetFunctionConfiguration', fnResource, (ctx, req, p) => getFunctionConfiguration(ctx, ref(ctx, req, p))),
  route('PUT', `${F}/*/configuration`, 'UpdateFunctionConfiguration', fnResource, (ctx, req, p) => updateFunctionConfiguration(ctx, ref(ctx, req, p), body(req))),
  route('PUT', `${F}/*/code`, 'UpdateFunctionCode', fnResource, (ctx, req, p) => updateFunctionCode(ctx, ref(ctx, req, p), body(req))),
  route('POST', `${F}/*/versions`, 'PublishVersion', fnResource, (ctx, req, p) => publishVersion(ctx, ref(ctx, req, p), body(req))),
  route('GET', `${F}/*/versions`, 'ListVersionsByFunction', fnResource, (ctx, req, p) => listVersions(ctx, ref(ctx, req, p), req.query)),
  route('POST', `${F}/*/aliases`, 'CreateAlias', fnResource, (ctx, req, p) => createAlias(ctx, ref(ctx, req, p), body(req))),
  route('GET', `${F}/*/aliases`, 'ListAliases', fnResource, (ctx, req, p) => listAliases(ctx, ref(ctx, req, p), req.query)),
  route('GET', `${F}/*/aliases/*`, 'GetAlias', fnResource, (ctx, req, p) => getAlias(ctx, ref(ctx, req, p), p[1]!)),
  route('PUT', `${F}/*/aliases/*`, 'UpdateAlias', fnResource, (ctx, req, p) => updateAlias(ctx, ref(ctx, req, p), p[1]!, body(req))),
  route('DELETE', `${F}/*/aliases/*`, 'DeleteAlias', fnResource, (ctx, req, p) => deleteAlias(ctx, ref(ctx, req, p), p[1]!)),
  route('POST', `${F}/*/policy`, 'AddPermission', fnResource, (ctx, req, p) => addPermission(ctx, ref(ctx, req, p), body(req))),
  route('GET', `${F}/*/policy`, 'GetPolicy', fnResource, (ctx, req, p) => getPolicy(ctx, ref(ctx, req, p))),
  route('DELETE', `${F}/*/policy/*`, 'RemovePermission', fnResource,
    (ctx, req, p) => removePermission(ctx, ref(ctx, req, p), p[1]!, req.query.get('RevisionId'))),
  route('POST', `${U}/*/url`, 'CreateFunctionUrlConfig', fnResource, (ctx, req, p) => createUrlConfig(ctx, ref(ctx, req, p), body(req))),
  route('GET', `${U}/*/url`, 'GetFunctionUrlConfig', fnResource, (ctx, req, p) => getUrlConfig(ctx, ref(ctx, req, p))),
  route('PUT', `${U}/*/url`, 'UpdateFunctionUrlConfig', fnResource, (ctx, req, p) => updateUrlConfig(ctx, ref(ctx, req, p), body(req))),
  route('DELETE', `${U}/*/url`, 'DeleteFunctionUrlConfig', fnResource, (ctx, req, p) => deleteUrlConfig(ctx, ref(ctx, req, p))),
  route('GET', `${U}/*/urls`, 'ListFunctionUrlConfigs', fnResource, (ctx, req, p) => listUrlConfigs(ctx, ref(ctx, req, p))),
  route('GET', L, 'ListLayers', anyResource, (ctx, req) =>
    req.query.get('find') === 'LayerVersion' ? getLayerVersionByArn(ctx, req.query.get('Arn')) : listLayers(ctx, req.query)),
  route('POST', `${L}/*/versions`, 'PublishLayerVersion', layerResource, (ctx, req, p) => publishLayerVersion(ctx, p[0]!, body(req))),
  route('GET', `${L}/*/versions`, 'ListLayerVersions', layerResource, (ctx, req, p) => listLayerVersions(ctx, p[0]!, req.query)),
  route('GET', `${L}/*/versions/*`, 'GetLayerVersion', layerResource, (ctx, _req, p) => getLayerVersion(ctx, p[0]!, p[1]!)),
  route('DELETE', `${L}/*/versions/*`, 'DeleteLayerVersion', layerResource, (ctx, _req, p) => deleteLayerVersion(ctx, p[0]!, p[1]!)),
  route('POST', '/2017-03-31/tags/*', 'TagResource', (_c, p) => p[0]!, (ctx, req, p) => tagResource(ctx, p[0]!, body(req))),
  route('DELETE', '/2017-03-31/tags/*', 'UntagResource', (_c, p) => p[0]!, (ctx, req, p) => untagResource(ctx, p[0]!, req.query.getAll('tagKeys'))),
  route('GET', '/2017-03-31/tags/*', 'ListTags', (_c, p) => p[0]!, (ctx, _req, p) => listTags(ctx, p[0]!)),
  route('PUT', '/2017-10-31/functions/*/concurrency', 'PutFunctionConcurrency', fnResource, (ctx, req, p) => putFunctionConcurrency(ctx, ref(ctx, req, p), body(req))),
  route('DELETE', '/2017-10-31/functions/*/concurrency', 'DeleteFunctionConcurrency', fnResource, (ctx, req, p) => deleteFunctionConcurrency(ctx, ref(ctx, req, p))),
  route('GET', '/2019-09-30/functions/*/concurrency', 'GetFunctionConcurrency', fnResource, (ctx, req, p) => getFunctionConcurrency(ctx, ref(ctx, req, p))),
  route('PUT', '/2019-09-30/functions/*/provisioned-concurrency', 'PutProvisionedConcurrencyConfig', fnResource,
    (ctx, req, p) => putProvisionedConcurrency(ctx, ref(ctx, req, p), body(req))),
  route('GET', '/2019-09-30/functions/*/provisioned-concurrency', 'GetProvisionedConcurrencyConfig', fnResource,
    (ctx, req, p) => getProvisionedConcurrency(ctx, ref(ctx, req, p))),
  route('DELETE', '/2019-09-30/functions/*/provisioned-concurrency', 'DeleteProvisionedConcurrencyConfig', fnResource,
    (ctx, req, p) => deleteProvisionedConcurrency(ctx, ref(ctx, req, p))),
  route('GET', '/2016-08-19/account-settings', 'GetAccountSettings', anyResource, (ctx) => accountSettings(ctx)),
];

/** Matches a Lambda REST request to its action. */
export function routeLambda(ctx: StandInContext, req: ApiRequest): RoutedCall | undefined {
  const segments = req.path.split('/').filter(Boolean);
  for (const candidate of ROUTES) {
    if (candidate.method !== req.method || candidate.pattern.length !== segments.length) continue;
    const params: string[] = [];
    const matches = candidate.pattern.every((part, i) => {
      if (part === '*') {
        params.push(decodeURIComponent(segments[i]!));
        return true;
      }
      return part === segments[i];
    });
    if (!matches) continue;
    return {
      service: 'lambda',
      action: candidate.action,
      resource: () => candidate.resource(ctx, params, req),
      run: async () => candidate.handler(ctx, req, params),
    };
  }
  return undefined;
}

function taggedFunction(ctx: StandInContext, arn: string) {
  const parsed = parseFunctionRef(ctx, arn, undefined);
  if (!arn.startsWith('arn:') || parsed.qualifier !== undefined) {
    throw invalidParameter(`${arn} is not a valid taggable resource ARN.`);
  }
  return requireFunction(ctx, parsed);
}

function tagResource(ctx: StandInContext, arn: string, input: { Tags?: Record<string, string> }): ApiResponse {
  const fn = taggedFunction(ctx, arn);
  const tags = input.Tags ?? {};
  if (Object.keys(tags).some((key) => key.toLowerCase().startsWith('aws:'))) {
    throw invalidParameter('Tag keys cannot start with the reserved prefix aws:.');
  }
  Object.assign(fn.tags, tags);
  return emptyResponse(204);
}

function untagResource(ctx: StandInContext, arn: string, keys: string[]): ApiResponse {
  const fn = taggedFunction(ctx, arn);
  for (const key of keys) delete fn.tags[key];
  return emptyResponse(204);
}

function listTags(ctx: StandInContext, arn: string): ApiResponse {
  return jsonResponse(200, { Tags: taggedFunction(ctx, arn).tags });
}

function accountSettings(ctx: StandInContext): ApiResponse {
  let total = 0;
  for (const fn of ctx.state.functions.values()) {
    total += fn.latest.code.size;
    for (const version of fn.versions.values()) total += version.code.size;
  }
  for (const layer of ctx.state.layers.values()) for (const version of layer.versions.values()) total += version.code.size;
  return jsonResponse(200, {
    AccountLimit: {
      TotalCodeSize: 80_530_636_800,
      CodeSizeUnzipped: UNZIPPED_LIMIT,
      CodeSizeZipped: DIRECT_ZIP_LIMIT,
      ConcurrentExecutions: ctx.state.accountConcurrency,
      UnreservedConcurrentExecutions: unreservedConcurrency(ctx),
    },
    AccountUsage: { TotalCodeSize: total, FunctionCount: ctx.state.functions.size },
  });
}
