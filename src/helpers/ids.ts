/** Helper ids and names: the uapi table lives in src/uapi/helper-ids.ts. */
export { HELPER_IDS, HELPER_NAMES, helperName } from '../uapi/helper-ids.js';
