// Who may read what (PRODUCT.md "Who uses it"): owners and admins see the whole workspace;
// a member reads only the customers they own, and no per-payer data outside them.
import type { SignedInMember } from './login.ts';

export type Viewer = Pick<SignedInMember, 'email' | 'role'>;

/** Owners and admins read (and settle) everything in their workspace. */
export const seesWholeWorkspace = (viewer: Viewer): boolean => viewer.role === 'owner' || viewer.role === 'admin';

/** Whether a customer (by its owner's email) is one this viewer may read. */
export const mayReadCustomer = (viewer: Viewer, customer: { owner_email?: string | null } | null | undefined): boolean =>
  seesWholeWorkspace(viewer) || (!!customer?.owner_email && customer.owner_email.toLowerCase() === viewer.email.toLowerCase());
