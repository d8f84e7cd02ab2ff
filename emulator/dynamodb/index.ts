// DynamoDB for the emulator: the JSON 1.0 handler, its views and fault hooks, an expression parser, and a
// standalone HTTP server for tests.
export {
  createDynamoDbService,
  DYNAMODB_SERVICE,
  DYNAMODB_TARGET_PREFIX,
  type DynamoDbClock,
  type DynamoDbDeps,
  type DynamoDbFaultHandle,
  type DynamoDbFaults,
  type DynamoDbFaultSpec,
  type DynamoDbOptions,
  type DynamoDbRequest,
  type DynamoDbService,
  type DynamoDbTableSpec,
  type TimeAttribute,
} from './service.js';
export {
  dynamoDbAction,
  regionOfAuthorization,
  serveDynamoDb,
  type DynamoDbServer,
  type DynamoDbServerOptions,
} from './http.js';
export { errorResponse as dynamoDbErrorResponse, ERROR_STATUS as DYNAMODB_ERROR_STATUS } from './errors.js';
export { ExpressionAttributes, parseCondition, parseUpdate } from './expressions.js';
export { evaluateCondition, applyUpdate } from './evaluate.js';
export { plainItem, toPlain, type AttributeValue, type Item, type PlainValue } from './values.js';
