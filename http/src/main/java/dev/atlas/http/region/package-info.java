/**
 * Regions of an array as the command line and the HTTP server both write them ({@code 0:2,5,:}):
 * the one parser, its typed errors and the box it yields; each front end words the errors its own way.
 */
package dev.atlas.http.region;
