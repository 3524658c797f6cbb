// The customer services the portal's routes receive through context.pivotal.customers.
import { changeStatusFromPortal, customerDetail, customerHistoryStream, exportCustomers, EXPORT_CSV_COLUMNS, resyncFromPortal } from './portal.ts';
import { customerListPage, parseListParams } from './list.ts';
import { csvStream, jsonArrayStream } from './export.ts';
import { HISTORY_CSV_COLUMNS } from '../activity/activity.ts';

export const customerPortal = {
  parseListParams,
  listPage: customerListPage,
  detail: customerDetail,
  changeStatus: changeStatusFromPortal,
  resync: resyncFromPortal,
  historyCsv: async (...args: Parameters<typeof customerHistoryStream>) => {
    const h = await customerHistoryStream(...args);
    return { displayId: h.displayId, body: csvStream(h.rows, HISTORY_CSV_COLUMNS) };
  },
  exportCsv: async (...args: Parameters<typeof exportCustomers>) => csvStream(exportCustomers(...args) as AsyncIterable<any>, EXPORT_CSV_COLUMNS),
  exportJson: async (...args: Parameters<typeof exportCustomers>) => jsonArrayStream(exportCustomers(...args)),
};
