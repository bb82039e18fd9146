/** What a verification walk ({@code ArrayFile.verify}, {@code Atlas.verify}) found: findings, counts and progress. */
package dev.atlas.integrity;
