/**
 * S3 {@code Storage} backend on the AWS SDK v2 CRT client. Not implemented yet: this module only
 * reserves its place in the build (see the storage-s3 issue).
 */
package dev.atlas.storage.s3;
