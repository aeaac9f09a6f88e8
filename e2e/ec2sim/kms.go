package ec2sim

import (
	"fmt"
	"net/http"
)

// Encrypted volumes and their KMS keys.
//
// An EBS volume encrypted with a customer-managed key can only be attached
// while EC2 can use that key on the caller's behalf: AttachVolume makes EC2
// create a KMS grant for the volume ("Requirements for Amazon EBS
// encryption", Amazon EBS User Guide, lists kms:CreateGrant, kms:Decrypt,
// kms:DescribeKey, kms:GenerateDataKeyWithoutPlainText and kms:ReEncrypt;
// the KMS Developer Guide's "How Amazon EBS uses KMS" gained the
// AttachVolume/CreateGrant step in awsdocs/aws-kms-developer-guide pull
// request 2). When the key is disabled, scheduled for deletion, or the
// caller lacks those permissions, AWS refuses the attach synchronously:
//
//	An error occurred (CustomerKeyHasBeenRevoked) when calling the
//	AttachVolume operation: Volume vol-xxx cannot be attached. The encrypted
//	volume was unable to access the KMS master key.
//
// (reported from AWS in kubernetes-retired/kube-aws issue 393 and
// kubernetes/kubernetes issue 62171). The emulator answers the same code
// and message, HTTP 400 (a client error, so the SDK does not retry it). It
// does not model IAM: "unusable" stands for every cause.

// codeCustomerKeyRevoked is EC2's error code for an attach refused because
// of the volume's KMS key.
const codeCustomerKeyRevoked = "CustomerKeyHasBeenRevoked"

// SetKMSKeyUsable marks a KMS key usable (the default for every key) or
// not. Volumes seeded with KMSKeyID = keyID then attach, or are refused with
// CustomerKeyHasBeenRevoked. Attachments that already exist are not touched:
// EBS holds its grant for an attached volume.
func (s *Sim) SetKMSKeyUsable(keyID string, usable bool) error {
	if keyID == "" {
		return fmt.Errorf("set kms key usable: key ID is empty")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.kmsUnusable == nil {
		s.kmsUnusable = map[string]bool{}
	}
	if usable {
		delete(s.kmsUnusable, keyID)
	} else {
		s.kmsUnusable[keyID] = true
	}
	s.log.Info().Str("kms_key", keyID).Bool("usable", usable).Msg("kms key state set")
	return nil
}

// kmsAttachError is the answer to attaching v when its key is unusable, or
// nil; s.mu is held.
func (s *Sim) kmsAttachError(v *volume) *apiError {
	if v.kmsKeyID == "" || !s.kmsUnusable[v.kmsKeyID] {
		return nil
	}
	return badRequest(codeCustomerKeyRevoked, "Volume %s cannot be attached. The encrypted volume was unable to access the KMS master key.", v.id)
}

// registerKMSControl adds the test surface for KMS keys:
//
//	POST /_sim/kms-keys  {"keyId":"arn:aws:kms:…:key/…","usable":false}
//
// The key ID travels in the body: a key ARN contains a slash.
func (s *Sim) registerKMSControl(mux *http.ServeMux) {
	mux.HandleFunc("POST /_sim/kms-keys", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			KeyID  string `json:"keyId"`
			Usable *bool  `json:"usable"`
		}
		if err := decodeStrict(r, &body); err != nil {
			writeJSONError(w, http.StatusBadRequest, err)
			return
		}
		if body.Usable == nil {
			writeJSONError(w, http.StatusBadRequest, fmt.Errorf("usable: required (true or false)"))
			return
		}
		if err := s.SetKMSKeyUsable(body.KeyID, *body.Usable); err != nil {
			writeJSONError(w, http.StatusBadRequest, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"keyId": body.KeyID, "usable": *body.Usable})
	})
}
