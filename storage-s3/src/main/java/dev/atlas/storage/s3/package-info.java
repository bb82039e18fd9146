/** The S3 backend of the storage SPI: {@link dev.atlas.storage.s3.S3Storage} on the AWS SDK v2 CRT async client. */
package dev.atlas.storage.s3;
