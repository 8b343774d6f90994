/**
 * The mutable computation graph, the size solver and the evolutionary search (the NaiveNASlib and NaiveGAflux
 * part of evonas). Filled by the graph and search issues.
 */
package io.evonas.nas;
