/**
 * The {@code evonas} command: fit, resume, report and export. Filled by the search issue.
 */
package io.evonas.app;
