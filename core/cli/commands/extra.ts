// Imports the command groups that register through addCommands() (connectors, sync,
// admin). Kept separate so adding a group never touches main.ts.
import { addCommands } from '../registry.ts';
import { registerAdminCommands } from './admin.ts';
import { registerSyncCommands } from './sync.ts';
import { registerConnectStripe } from './connect-stripe.ts';

addCommands(registerAdminCommands);
addCommands(registerSyncCommands);
addCommands(registerConnectStripe);
import { registerBillingCommands } from './billing.ts';
addCommands(registerBillingCommands);
import { registerHealthCommands } from './health.ts';
addCommands(registerHealthCommands);
import { registerWebhookCommands } from './webhooks.ts';
addCommands(registerWebhookCommands);
import { registerConnectionCommands } from './connections.ts';
addCommands(registerConnectionCommands);
import { registerDisconnectCommand } from './disconnect.ts';
addCommands(registerDisconnectCommand);
import { registerConnectSalesforce } from './connect-salesforce.ts';
addCommands(registerConnectSalesforce);
