/** Record numbers as Forestall shows them (one counter per prefix, seven digits). */

/** An alert number: `Alert0010027`. */
export const ALERT_NUMBER = /^Alert\d{7}$/;

/** A case number: `CS0010001`. */
export const CASE_NUMBER = /^CS\d{7}$/;

/** An incident number: `INC0010001`. */
export const INCIDENT_NUMBER = /^INC\d{7}$/;
